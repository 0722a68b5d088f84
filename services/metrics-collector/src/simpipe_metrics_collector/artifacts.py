"""Sizes of a step's input artifacts (the original's fileSize): read from the
artifact repository in S3 at the (bucket, key) the argo-watcher reports on
each node (DryRunNode.input_artifacts, buckets already resolved)."""

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from simpipe_common.errors import UnavailableError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

HTTP_NOT_FOUND = "404"


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
            head = await self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) == HTTP_NOT_FOUND:
                return 0
            raise UnavailableError(f"S3 did not answer for an input artifact: {error}") from error
        except BotoCoreError as error:
            raise UnavailableError(f"S3 does not answer: {error}") from error
        return int(head.get("ContentLength", 0))
