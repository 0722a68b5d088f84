"""S3 access through aioboto3 (install simpipe-common[s3]): MinIO by default, any S3."""

import functools
import os
from typing import TYPE_CHECKING, Any

import aioboto3
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.loaders import Loader

from simpipe_common.checks import Check, dependency_check
from simpipe_common.settings import S3Settings

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client


SERVICE = "s3"
_DOCUMENTATION = ("documentation", "documentationUrl")


def _blank_documentation(node: object) -> None:
    """Empties every documentation text of a service model, in place. The keys
    stay: botocore reads some of them (client context parameters)."""
    if isinstance(node, dict):
        for key in _DOCUMENTATION:
            if key in node:
                node[key] = ""
        for value in node.values():
            _blank_documentation(value)
    elif isinstance(node, list):
        for value in node:
            _blank_documentation(value)


class S3OnlyLoader(Loader):
    """botocore's data loader, keeping only what S3 clients use of what it
    loads. botocore caches each file it loads for the process's lifetime:
    - endpoints.json describes every AWS service in every partition; only
      its partitions and their S3 entry are kept (the legacy endpoint
      resolver reads just those for S3);
    - the S3 service model's documentation (HTML of every operation, shape
      and member) is emptied: clients never read it.
    Unfiltered, both would stay in memory for the process's lifetime though
    no client reads them. Filtered in place, so botocore's own cache holds
    the smaller data."""

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        data, path = super().load_data_with_path(name)
        if name == "endpoints":
            for partition in data.get("partitions", []):
                services = partition.get("services", {})
                if set(services) - {SERVICE}:
                    partition["services"] = {
                        key: value for key, value in services.items() if key == SERVICE
                    }
        elif name.startswith(f"{SERVICE}/") and name.endswith("/service-2"):
            _blank_documentation(data)
        return data, path


@functools.cache
def _session() -> aioboto3.Session:
    """One session per process. Each botocore session parses the S3 service
    model, endpoint rules and partitions from JSON again, megabytes of
    objects; clients made from one session share them, so a second client
    costs little. Clients get their credentials and endpoint explicitly, so
    sharing the session shares no configuration between them. Every
    dependency check (ServiceInfo.GetInfo) made a client too. The session
    makes S3 clients only: its loader drops the other services' data."""
    botocore_session = AioSession()
    # As botocore's own loader: AWS_DATA_PATH's directories first.
    data_path = botocore_session.get_config_variable("data_path") or ""
    extra = [os.path.expanduser(path) for path in data_path.split(os.pathsep) if path]
    botocore_session.register_component("data_loader", S3OnlyLoader(extra_search_paths=extra))
    return aioboto3.Session(botocore_session=botocore_session)


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
