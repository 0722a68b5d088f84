"""S3 access through aioboto3 (install simpipe-common[s3]): MinIO by default, any S3."""

import functools
from typing import TYPE_CHECKING

import aioboto3
from aiobotocore.config import AioConfig

from simpipe_common.checks import Check, dependency_check
from simpipe_common.settings import S3Settings

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client


@functools.cache
def _session() -> aioboto3.Session:
    """One session per process. Each botocore session parses the S3 service
    model, endpoint rules and partitions from JSON again (about 11 MiB of
    objects); clients made from one session share them. Clients get their
    credentials and endpoint explicitly, so sharing the session shares no
    configuration between them. Measured on the storage-broker: a second
    client from its own session +11.4 MiB, from the shared one +0.3 MiB; and
    every dependency check (ServiceInfo.GetInfo) made a new one."""
    return aioboto3.Session()


def s3_client(
    settings: S3Settings, timeout: float, endpoint: str | None = None
) -> "ClientCreatorContext[S3Client]":
    """An S3 client context; `timeout` bounds connecting and each read, with no retries.
    `endpoint` overrides settings.s3_endpoint (e.g. the one browsers reach, for
    presigning)."""
    config = AioConfig(
        s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
        # SigV4 everywhere, presigned URLs included: AWS takes nothing older
        # in its newer regions, and MinIO and the other S3 servers take it.
        signature_version="s3v4",
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1},
    )
    return _session().client(
        "s3",
        endpoint_url=endpoint or settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        region_name=settings.s3_region,
        config=config,
    )


def s3_check(settings: S3Settings, timeout: float) -> Check:
    async def probe() -> str:
        async with s3_client(settings, timeout) as s3:
            buckets = (await s3.list_buckets()).get("Buckets", [])
        return f"{settings.s3_endpoint}: {len(buckets)} buckets"

    return dependency_check("s3", probe, timeout)
