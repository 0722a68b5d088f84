"""Buckets, objects and multipart uploads on S3: validated requests in,
protobuf messages out. Object bytes never pass through here."""

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_common.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from simpipe_common.s3_errors import s3_errors
from simpipe_storage_broker import validation
from simpipe_storage_broker.object_events import ObjectEvents
from simpipe_storage_broker.presigner import Presigner

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# S3 returns at most 1000 keys per listing and deletes at most 1000 per request.
S3_PAGE = 1000
MAX_DELETE_KEYS = 10_000
DELIMITERS = ("", "/")


def timestamp(value: datetime | None) -> Timestamp:
    found = Timestamp()
    if value is not None:
        found.FromDatetime(value)
    return found


def _etag(value: str) -> str:
    return value.strip('"')


@dataclass
class Storage:
    s3: "S3Client"
    presigner: Presigner
    events: ObjectEvents
    reserved_buckets: frozenset[str]
    default_bucket: str
    region: str

    def _writable(self, bucket: str) -> str:
        validation.bucket_name(bucket)
        if bucket in self.reserved_buckets:
            raise PermissionDeniedError(
                f"bucket {bucket!r} is reserved for SIM-PIPE itself: it cannot be"
                " created, deleted or written through the API",
                reason="reserved-bucket",
            )
        return bucket

    # Buckets
    async def list_buckets(self) -> list[pb.Bucket]:
        with s3_errors("buckets"):
            found = await self.s3.list_buckets()
        return [
            pb.Bucket(
                name=b["Name"],
                created_at=timestamp(b.get("CreationDate")),
                reserved=b["Name"] in self.reserved_buckets,
            )
            for b in found.get("Buckets", [])
        ]

    async def create_bucket(self, bucket: str) -> pb.Bucket:
        self._writable(bucket)
        extra: dict[str, Any] = {}
        # us-east-1 is S3's default location and may not be named.
        if self.region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        # Looked up first: S3 in us-east-1 (and moto) answer a repeated create
        # with success, MinIO and the other regions with a conflict.
        with suppress(NotFoundError):
            await self._exists(bucket)
            raise ConflictError(f"bucket {bucket!r} already exists")
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.create_bucket(Bucket=bucket, **extra)
        return pb.Bucket(name=bucket)

    async def ensure_bucket(self, bucket: str) -> None:
        with suppress(ConflictError):
            await self.create_bucket(bucket)

    async def delete_bucket(self, caller: str, bucket: str, force: bool) -> None:
        self._writable(bucket)
        if force:
            await self._empty(caller, bucket)
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.delete_bucket(Bucket=bucket)

    async def _empty(self, caller: str, bucket: str) -> None:
        while True:
            with s3_errors(f"bucket {bucket!r}"):
                page = await self.s3.list_objects_v2(Bucket=bucket, MaxKeys=S3_PAGE)
            keys = [o["Key"] for o in page.get("Contents", [])]
            if not keys:
                return
            # Keys written by other clients may not pass our checks: deleted as they are.
            await self._delete(caller, bucket, keys)

    # Objects
    async def list_objects(self, request: pb.ListObjectsRequest) -> pb.ListObjectsResponse:
        bucket = validation.bucket_name(request.bucket) if request.bucket else self.default_bucket
        if request.prefix:
            validation.key(request.prefix, "prefix")
        if request.delimiter not in DELIMITERS:
            raise InvalidInputError("delimiter must be empty or '/'")
        if request.page_size > S3_PAGE:
            raise InvalidInputError(f"page_size must be at most {S3_PAGE}")
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": request.prefix,
            "Delimiter": request.delimiter,
            "MaxKeys": request.page_size or S3_PAGE,
        }
        if request.page_token:
            params["ContinuationToken"] = request.page_token
        try:
            with s3_errors(f"bucket {bucket!r}"):
                page = await self.s3.list_objects_v2(**params)
        except NotFoundError:
            if request.bucket:
                raise
            return pb.ListObjectsResponse()  # nothing uploaded yet
        objects = [
            pb.ObjectInfo(
                bucket=bucket,
                key=o["Key"],
                size=o.get("Size", 0),
                etag=_etag(o.get("ETag", "")),
                last_modified=timestamp(o.get("LastModified")),
            )
            for o in page.get("Contents", [])
        ]
        if request.with_download_urls:
            for info in objects:
                info.download_url = (await self.presigner.get(bucket, info.key)).url
        return pb.ListObjectsResponse(
            objects=objects,
            common_prefixes=[p["Prefix"] for p in page.get("CommonPrefixes", [])],
            next_page_token=page.get("NextContinuationToken", "")
            if page.get("IsTruncated")
            else "",
        )

    async def stat_object(self, bucket: str, key: str) -> pb.ObjectInfo:
        validation.bucket_name(bucket)
        validation.key(key)
        with s3_errors(f"object {key!r} in bucket {bucket!r}"):
            head = await self.s3.head_object(Bucket=bucket, Key=key)
        return pb.ObjectInfo(
            bucket=bucket,
            key=key,
            size=head.get("ContentLength", 0),
            etag=_etag(head.get("ETag", "")),
            last_modified=timestamp(head.get("LastModified")),
            content_type=head.get("ContentType", ""),
            metadata=head.get("Metadata", {}),
        )

    async def delete_objects(
        self, caller: str, bucket: str, keys: Sequence[str]
    ) -> pb.DeleteObjectsResponse:
        self._writable(bucket)
        if len(keys) > MAX_DELETE_KEYS:
            raise InvalidInputError(f"at most {MAX_DELETE_KEYS} keys per request")
        for index, key in enumerate(keys):
            validation.key(key, f"keys[{index}]")
        return await self._delete(caller, bucket, keys)

    async def _delete(
        self, caller: str, bucket: str, keys: Sequence[str]
    ) -> pb.DeleteObjectsResponse:
        response = pb.DeleteObjectsResponse()
        for start in range(0, len(keys), S3_PAGE):
            chunk = keys[start : start + S3_PAGE]
            with s3_errors(f"bucket {bucket!r}"):
                done = await self.s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": False}
                )
            for deleted in done.get("Deleted", []):
                response.deleted.append(deleted["Key"])
                self.events.deleted(bucket, deleted["Key"], caller)
            response.errors.extend(
                pb.ObjectError(
                    key=e.get("Key", ""), code=e.get("Code", ""), message=e.get("Message", "")
                )
                for e in done.get("Errors", [])
            )
        return response

    # Presigned URLs
    async def presign_put(self, request: pb.PresignRequest) -> pb.PresignedUrl:
        validation.key(request.key)
        if request.bucket:
            bucket = self._writable(request.bucket)
            await self._exists(bucket)
        else:
            bucket = self.default_bucket
            await self.ensure_bucket(bucket)
        return await self.presigner.put(
            bucket, request.key, request.ttl_seconds, request.content_type
        )

    async def presign_get(self, request: pb.PresignRequest) -> pb.PresignedUrl:
        bucket = validation.bucket_name(request.bucket) if request.bucket else self.default_bucket
        validation.key(request.key)
        # Not looked up: a URL of a missing object answers 404 to whoever uses it.
        return await self.presigner.get(bucket, request.key, request.ttl_seconds)

    async def _exists(self, bucket: str) -> None:
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.head_bucket(Bucket=bucket)

    # Multipart uploads
    async def create_multipart_upload(
        self, request: pb.CreateMultipartUploadRequest
    ) -> pb.MultipartUpload:
        bucket = self._writable(request.bucket)
        key = validation.key(request.key)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if request.content_type:
            params["ContentType"] = request.content_type
        with s3_errors(f"bucket {bucket!r}"):
            created = await self.s3.create_multipart_upload(**params)
        return pb.MultipartUpload(bucket=bucket, key=key, upload_id=created["UploadId"])

    async def presign_upload_part(self, request: pb.PresignUploadPartRequest) -> pb.PresignedUrl:
        bucket = self._writable(request.bucket)
        key = validation.key(request.key)
        if not request.upload_id:
            raise InvalidInputError("upload_id must not be empty")
        part = validation.part_number(request.part_number)
        return await self.presigner.upload_part(
            bucket, key, request.upload_id, part, request.ttl_seconds
        )

    async def complete_multipart_upload(
        self, request: pb.CompleteMultipartUploadRequest
    ) -> pb.ObjectInfo:
        bucket = self._writable(request.bucket)
        key = validation.key(request.key)
        if not request.parts:
            raise InvalidInputError("parts must not be empty")
        parts = [
            {"PartNumber": validation.part_number(p.part_number), "ETag": p.etag}
            for p in request.parts
        ]
        with s3_errors(f"multipart upload of {key!r} to bucket {bucket!r}"):
            await self.s3.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=request.upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        info = await self.stat_object(bucket, key)
        self.events.created(bucket, key, info.size, info.etag, request.caller)
        return info

    async def abort_multipart_upload(self, request: pb.MultipartUploadRef) -> None:
        bucket = self._writable(request.bucket)
        key = validation.key(request.key)
        with s3_errors(f"multipart upload of {key!r} to bucket {bucket!r}"):
            await self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=request.upload_id)
