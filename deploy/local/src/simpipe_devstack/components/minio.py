"""MinIO: the S3 server for inputs, artifacts, archived logs and reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.layout import gui_origins
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from simpipe_devstack.stack import Stack

# Buckets the system itself uses; the storage-broker reserves them (users
# read their own runs' files in ARTIFACT_BUCKET, below their owner prefix).
SYSTEM_BUCKETS = (ARTIFACT_BUCKET, "simpipe-reports")
# The storage-broker's default bucket (its SIMPIPE_DEFAULT_BUCKET), where
# uploads through the GraphQL API land, each user's below their owner
# prefix; SFTPGo serves one user's part of it too.
UPLOADS_BUCKET = "simpipe-uploads"
REGION = "us-east-1"


def s3_client(stack: Stack) -> S3Client:
    """A boto3 client of the stack's MinIO, as its root user."""
    return boto3.client(
        "s3",
        endpoint_url=Minio().url(stack),
        aws_access_key_id=stack.secrets.s3_access_key,
        aws_secret_access_key=stack.secrets.s3_secret_key,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )


class Minio(ProcessComponent):
    name = "minio"
    port_keys = ("minio", "minio_console")
    binaries = ("minio",)

    def spec(self, stack: Stack) -> ProcessSpec:
        ports, data = stack.layout.ports, stack.layout.data / "minio"
        data.mkdir(parents=True, exist_ok=True)
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["minio"]),
                "server",
                str(data),
                "--address",
                f"127.0.0.1:{ports['minio']}",
                "--console-address",
                f"127.0.0.1:{ports['minio_console']}",
                "--quiet",
            ],
            env={
                "MINIO_ROOT_USER": stack.secrets.s3_access_key,
                "MINIO_ROOT_PASSWORD": stack.secrets.s3_secret_key,
                "MINIO_BROWSER": "off",
                # A GUI's page PUTs and GETs presigned URLs from its own
                # origin: only the local GUI's (MinIO's default is any).
                "MINIO_API_CORS_ALLOW_ORIGIN": gui_origins(ports),
                "MINIO_UPDATE": "off",
            },
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self.url(stack)}/minio/health/ready")

    def url(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['minio']}"

    def after_start(self, stack: Stack) -> None:
        s3 = s3_client(stack)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in (*SYSTEM_BUCKETS, UPLOADS_BUCKET):
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"s3": self.url(stack)}
