"""S3 access through aioboto3 (install simpipe-common[s3]): MinIO by default, any S3."""

from typing import TYPE_CHECKING

import aioboto3
from aiobotocore.config import AioConfig

from simpipe_common.checks import Check, dependency_check
from simpipe_common.settings import S3Settings

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client


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
    return aioboto3.Session().client(
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
