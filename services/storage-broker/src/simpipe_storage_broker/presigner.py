"""Presigned URLs: signed locally (no request to S3) by a client of the
endpoint clients reach, which may differ from the broker's own."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_common.errors import InvalidInputError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


@dataclass(frozen=True)
class Presigner:
    s3: "S3Client"
    default_ttl_seconds: int
    max_ttl_seconds: int

    def ttl(self, requested: int) -> int:
        if requested == 0:
            return self.default_ttl_seconds
        if requested > self.max_ttl_seconds:
            raise InvalidInputError(
                f"ttl_seconds must be 1-{self.max_ttl_seconds} (0: {self.default_ttl_seconds})"
            )
        return requested

    async def url(
        self,
        method: str,
        operation: str,
        params: dict[str, Any],
        ttl_seconds: int,
        headers: dict[str, str] | None = None,
    ) -> pb.PresignedUrl:
        """`params` are those of S3 `operation` (Bucket, Key, ...); `headers`
        are part of the signature, so the request must send them."""
        ttl = self.ttl(ttl_seconds)
        expires = Timestamp()
        expires.FromDatetime(datetime.now(UTC) + timedelta(seconds=ttl))
        url = await self.s3.generate_presigned_url(
            operation, Params=params, ExpiresIn=ttl, HttpMethod=method
        )
        return pb.PresignedUrl(
            url=url,
            method=method,
            expires_at=expires,
            headers=headers or {},
            bucket=params["Bucket"],
            key=params["Key"],
        )

    async def get(self, bucket: str, key: str, ttl_seconds: int = 0) -> pb.PresignedUrl:
        return await self.url("GET", "get_object", {"Bucket": bucket, "Key": key}, ttl_seconds)

    async def put(
        self, bucket: str, key: str, ttl_seconds: int = 0, content_type: str = ""
    ) -> pb.PresignedUrl:
        params = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ContentType"] = content_type
        headers = {"Content-Type": content_type} if content_type else None
        return await self.url("PUT", "put_object", params, ttl_seconds, headers)

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, ttl_seconds: int = 0
    ) -> pb.PresignedUrl:
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        return await self.url("PUT", "upload_part", params, ttl_seconds)
