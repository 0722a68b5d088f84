"""Sizes of a step's input artifacts (the original's fileSize): read from the
artifact repository in S3 at the (bucket, key) the argo-watcher reports on
each node (DryRunNode.input_artifacts, buckets already resolved)."""

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from simpipe_common.errors import NotFoundError
from simpipe_common.s3_errors import s3_errors

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class ArtifactSizes:
    def __init__(self, s3: "S3Client") -> None:
        self._s3 = s3

    async def sizes(self, artifacts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(bucket, key) -> bytes of each distinct artifact, all asked at once;
        one that is gone counts 0."""
        unique = list(dict.fromkeys(artifacts))
        found = await asyncio.gather(*(self._size(bucket, key) for bucket, key in unique))
        return dict(zip(unique, found, strict=True))

    async def _size(self, bucket: str, key: str) -> int:
        try:
            with s3_errors(f"input artifact {key!r} in bucket {bucket!r}"):
                head = await self._s3.head_object(Bucket=bucket, Key=key)
        except NotFoundError:
            return 0
        return int(head.get("ContentLength", 0))
