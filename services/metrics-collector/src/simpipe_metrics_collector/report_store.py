"""Run reports in S3, under the owner: `<owner hash>/<dry run>/<uid>/`.
The owner in the key scopes reading without asking anyone else, so a report
stays readable after the Workflow and its archive entry are gone; the uid
keeps the reports of two runs that reused a name apart."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from simpipe_common.errors import NotFoundError
from simpipe_common.ownership import owner_hash
from simpipe_common.s3_errors import s3_errors

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

JSON_NAME = "report.json"
PARQUET_NAME = "series.parquet"


@dataclass(frozen=True)
class ReportKeys:
    json: str
    parquet: str


@dataclass(frozen=True)
class StoredReport:
    keys: ReportKeys
    last_modified: datetime


def _prefix(owner: str, dry_run_id: str) -> str:
    return f"{owner_hash(owner)}/{dry_run_id}/"


def report_keys(owner: str, dry_run_id: str, uid: str) -> ReportKeys:
    base = f"{_prefix(owner, dry_run_id)}{uid}/"
    return ReportKeys(base + JSON_NAME, base + PARQUET_NAME)


class ReportStore:
    """`signer` only signs URLs (no requests): a client of the endpoint that
    the URLs' readers reach, which may not be the one the collector uses."""

    def __init__(self, s3: "S3Client", signer: "S3Client", bucket: str, url_seconds: int):
        self.bucket = bucket
        self.url_seconds = url_seconds
        self._client = s3
        self._signer = signer

    @contextmanager
    def _s3(self, what: str) -> Iterator["S3Client"]:
        with s3_errors(f"{what} in report bucket {self.bucket!r}"):
            yield self._client

    async def exists(self, keys: ReportKeys) -> bool:
        try:
            with self._s3(f"report {keys.json!r}") as s3:
                await s3.head_object(Bucket=self.bucket, Key=keys.json)
        except NotFoundError:
            return False
        return True

    async def put(self, keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        """The Parquet file first: a report whose JSON exists is complete."""
        with self._s3(f"report {keys.json!r}") as s3:
            await s3.put_object(
                Bucket=self.bucket, Key=keys.parquet, Body=parquet,
                ContentType="application/vnd.apache.parquet",
            )  # fmt: skip
            await s3.put_object(
                Bucket=self.bucket, Key=keys.json, Body=document, ContentType="application/json"
            )

    async def latest(self, owner: str, dry_run_id: str) -> StoredReport | None:
        """The newest report of the owner's runs of that name."""
        prefix = _prefix(owner, dry_run_id)
        newest: StoredReport | None = None
        with self._s3("reports") as s3:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key = item.get("Key", "")
                    modified = item.get("LastModified")
                    if not key.endswith("/" + JSON_NAME) or modified is None:
                        continue
                    if newest is None or modified > newest.last_modified:
                        parquet = key.removesuffix(JSON_NAME) + PARQUET_NAME
                        newest = StoredReport(ReportKeys(key, parquet), modified)
        return newest

    async def read(self, key: str) -> dict[str, Any]:
        with self._s3(f"report {key!r}") as s3:
            response = await s3.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as body:
                document: dict[str, Any] = json.loads(await body.read())
        return document

    async def url(self, key: str) -> str:
        with self._s3(f"report {key!r}"):
            return await self._signer.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.url_seconds,
            )
