"""Sizes of a step's input artifacts (the original's fileSize): read from the
artifact repository in S3 at the keys Argo recorded on the node."""

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from simpipe.v1 import dry_runs_pb2
from simpipe_common.errors import UnavailableError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

HTTP_NOT_FOUND = "404"


def input_artifacts(dry_run: dry_runs_pb2.DryRun) -> dict[str, list[tuple[str, str]]]:
    """node id -> (bucket, key) of each S3 input artifact; bucket is "" for
    the default artifact repository."""
    workflow: dict[str, Any] = json.loads(dry_run.argo_workflow_json or "{}")
    nodes: dict[str, Any] = (workflow.get("status") or {}).get("nodes") or {}
    found: dict[str, list[tuple[str, str]]] = {}
    for node_id, node in nodes.items():
        for artifact in (node.get("inputs") or {}).get("artifacts") or []:
            s3 = artifact.get("s3") or {}
            if s3.get("key"):
                found.setdefault(node_id, []).append((str(s3.get("bucket") or ""), str(s3["key"])))
    return found


class ArtifactSizes:
    def __init__(self, s3: "S3Client", default_bucket: str) -> None:
        self._s3 = s3
        self._default_bucket = default_bucket

    async def total(self, artifacts: list[tuple[str, str]]) -> float:
        """Bytes of all the artifacts; one that is gone counts 0."""
        return float(sum([await self._size(bucket, key) for bucket, key in artifacts]))

    async def _size(self, bucket: str, key: str) -> int:
        try:
            head = await self._s3.head_object(Bucket=bucket or self._default_bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) == HTTP_NOT_FOUND:
                return 0
            raise UnavailableError(f"S3 did not answer for an input artifact: {error}") from error
        except BotoCoreError as error:
            raise UnavailableError(f"S3 does not answer: {error}") from error
        return int(head.get("ContentLength", 0))
