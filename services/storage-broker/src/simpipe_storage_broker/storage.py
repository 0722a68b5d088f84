"""Buckets, objects and multipart uploads on S3: validated requests in,
protobuf messages out, each in the caller's own part of S3 (ownership).
Object bytes never pass through here."""

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from botocore.exceptions import ClientError
from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_common.errors import ConflictError, InvalidInputError, NotFoundError
from simpipe_common.origins import PREFLIGHT_MAX_AGE_SECONDS
from simpipe_common.s3_errors import s3_errors
from simpipe_storage_broker import validation
from simpipe_storage_broker.object_events import ObjectEvents
from simpipe_storage_broker.ownership import Ownership, Place, reserved_bucket
from simpipe_storage_broker.presigner import Presigner

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CORSRuleTypeDef

log = structlog.get_logger(__name__)

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
    ownership: Ownership
    region: str
    # Browser origins allowed on the buckets the broker creates (origins.py).
    cors_origins: tuple[str, ...] = ()

    @property
    def default_bucket(self) -> str:
        return self.ownership.upload_bucket

    async def _key(self, caller: str, bucket: str, key: str, stored: bool) -> tuple[Place, str]:
        """The place and S3 key of a key the caller reads: their view of it,
        or (`stored`) its S3 key as a Workflow names it, which must lie in
        their part of the bucket."""
        place = await self.ownership.place(caller, bucket, write=False)
        validation.key(key)
        if not stored:
            return place, place.stored(key)
        if not place.holds(key) or key == place.prefix:
            raise NotFoundError(f"object {key!r} in bucket {bucket!r} not found")
        return place, key

    # Buckets
    async def list_buckets(self, caller: str) -> list[pb.Bucket]:
        """The caller's buckets, and the shared ones (their own part of each)."""
        with s3_errors("buckets"):
            found = await self.s3.list_buckets()
        shared = {self.ownership.upload_bucket: False, self.ownership.artifact_bucket: True}
        buckets = [
            pb.Bucket(
                name=b["Name"],
                created_at=timestamp(b.get("CreationDate")),
                reserved=shared[b["Name"]],
            )
            for b in found.get("Buckets", [])
            if b["Name"] in shared
        ]
        buckets += [
            pb.Bucket(name=name, created_at=timestamp(created))
            for name, created in await self.ownership.owned_buckets(caller)
        ]
        return sorted(buckets, key=lambda b: b.name)

    async def create_bucket(self, caller: str, bucket: str) -> pb.Bucket:
        validation.bucket_name(bucket)
        if self.ownership.is_reserved(bucket):
            raise reserved_bucket(bucket)
        # Looked up first: S3 in us-east-1 (and moto) answer a repeated create
        # with success, MinIO and the other regions with a conflict. Bucket
        # names are global in S3: a name anyone uses is taken.
        with suppress(NotFoundError):
            await self._exists(bucket)
            raise ConflictError(f"bucket {bucket!r} already exists")
        await self._create(bucket)
        try:
            await self.ownership.claim(caller, bucket)
        except Exception:
            # An untagged bucket would be nobody's: it goes again.
            with suppress(Exception):
                await self.s3.delete_bucket(Bucket=bucket)
            raise
        return pb.Bucket(name=bucket)

    async def _create(self, bucket: str) -> None:
        extra: dict[str, Any] = {}
        # us-east-1 is S3's default location and may not be named.
        if self.region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.create_bucket(Bucket=bucket, **extra)
        if self.cors_origins:
            await self._allow_origins(bucket)

    async def _allow_origins(self, bucket: str) -> None:
        """Lets the configured browser origins use presigned URLs of `bucket`:
        PUT (uploads, multipart parts, whose ETag the page must read to
        complete them), GET and HEAD. An S3 without bucket CORS (MinIO) says
        NotImplemented and is left to its own configuration; any other refusal
        is logged and the bucket kept: it works, only not from those pages."""
        rule: CORSRuleTypeDef = {
            "AllowedOrigins": list(self.cors_origins),
            "AllowedMethods": ["GET", "HEAD", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": PREFLIGHT_MAX_AGE_SECONDS,
        }
        try:
            await self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "NotImplemented":
                log.info("this S3 has no bucket CORS; its own configuration applies", bucket=bucket)
            else:
                log.warning("bucket CORS refused", bucket=bucket, code=code)

    async def _ensure_upload_bucket(self) -> None:
        """The shared upload bucket is made on first use; nobody owns it."""
        try:
            await self._exists(self.default_bucket)
        except NotFoundError:
            with suppress(ConflictError):
                await self._create(self.default_bucket)

    async def delete_bucket(self, caller: str, bucket: str, force: bool) -> None:
        validation.bucket_name(bucket)
        if self.ownership.is_reserved(bucket):
            raise reserved_bucket(bucket)
        await self.ownership.owned(caller, bucket)
        if force:
            await self._empty(caller, bucket)
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.delete_bucket(Bucket=bucket)

    async def _empty(self, caller: str, bucket: str) -> None:
        place = Place(bucket, "")
        while True:
            with s3_errors(f"bucket {bucket!r}"):
                page = await self.s3.list_objects_v2(Bucket=bucket, MaxKeys=S3_PAGE)
            keys = [o["Key"] for o in page.get("Contents", [])]
            if not keys:
                return
            # Keys written by other clients may not pass our checks: deleted as they are.
            await self._delete(caller, place, keys)

    # Objects
    async def list_objects(self, request: pb.ListObjectsRequest) -> pb.ListObjectsResponse:
        bucket = request.bucket or self.default_bucket
        place = await self.ownership.place(request.caller, bucket, write=False)
        if request.prefix:
            validation.key(request.prefix, "prefix")
        if request.delimiter not in DELIMITERS:
            raise InvalidInputError("delimiter must be empty or '/'")
        if request.page_size > S3_PAGE:
            raise InvalidInputError(f"page_size must be at most {S3_PAGE}")
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": place.stored(request.prefix),
            "Delimiter": request.delimiter,
            "MaxKeys": request.page_size or S3_PAGE,
        }
        # A token only continues a listing of these same parameters: the
        # prefix keeps it within the caller's part of the bucket.
        if request.page_token:
            params["ContinuationToken"] = request.page_token
        try:
            with s3_errors(f"bucket {bucket!r}"):
                page = await self.s3.list_objects_v2(**params)
        except NotFoundError:
            if bucket != self.default_bucket:
                raise
            return pb.ListObjectsResponse()  # nothing uploaded yet
        objects = [
            pb.ObjectInfo(
                bucket=bucket,
                key=place.view(o["Key"]),
                size=o.get("Size", 0),
                etag=_etag(o.get("ETag", "")),
                last_modified=timestamp(o.get("LastModified")),
            )
            for o in page.get("Contents", [])
        ]
        if request.with_download_urls:
            for info in objects:
                signed = await self.presigner.get(bucket, place.stored(info.key))
                info.download_url = signed.url
        return pb.ListObjectsResponse(
            objects=objects,
            common_prefixes=[place.view(p["Prefix"]) for p in page.get("CommonPrefixes", [])],
            next_page_token=page.get("NextContinuationToken", "")
            if page.get("IsTruncated")
            else "",
        )

    async def stat_object(self, request: pb.ObjectRef) -> pb.ObjectInfo:
        place, key = await self._key(
            request.caller, request.bucket, request.key, request.stored_key
        )
        return await self._stat(place, key)

    async def _stat(self, place: Place, key: str) -> pb.ObjectInfo:
        with s3_errors(f"object {place.view(key)!r} in bucket {place.bucket!r}"):
            head = await self.s3.head_object(Bucket=place.bucket, Key=key)
        return pb.ObjectInfo(
            bucket=place.bucket,
            key=place.view(key),
            size=head.get("ContentLength", 0),
            etag=_etag(head.get("ETag", "")),
            last_modified=timestamp(head.get("LastModified")),
            content_type=head.get("ContentType", ""),
            metadata=head.get("Metadata", {}),
        )

    async def delete_objects(
        self, caller: str, bucket: str, keys: Sequence[str]
    ) -> pb.DeleteObjectsResponse:
        place = await self.ownership.place(caller, bucket, write=True)
        if len(keys) > MAX_DELETE_KEYS:
            raise InvalidInputError(f"at most {MAX_DELETE_KEYS} keys per request")
        for index, key in enumerate(keys):
            validation.key(key, f"keys[{index}]")
        return await self._delete(caller, place, [place.stored(k) for k in keys])

    async def _delete(
        self, caller: str, place: Place, keys: Sequence[str]
    ) -> pb.DeleteObjectsResponse:
        response = pb.DeleteObjectsResponse()
        bucket = place.bucket
        for start in range(0, len(keys), S3_PAGE):
            chunk = keys[start : start + S3_PAGE]
            with s3_errors(f"bucket {bucket!r}"):
                done = await self.s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": False}
                )
            gone = [place.view(deleted["Key"]) for deleted in done.get("Deleted", [])]
            response.deleted.extend(gone)
            await asyncio.gather(*(self.events.deleted(bucket, key, caller) for key in gone))
            response.errors.extend(
                pb.ObjectError(
                    key=place.view(e.get("Key", "")),
                    code=e.get("Code", ""),
                    message=e.get("Message", ""),
                )
                for e in done.get("Errors", [])
            )
        return response

    # Presigned URLs
    async def presign_put(self, request: pb.PresignRequest) -> pb.PresignedUrl:
        validation.key(request.key)
        place = await self.ownership.place(
            request.caller, request.bucket or self.default_bucket, write=True
        )
        if place.bucket == self.default_bucket:
            await self._ensure_upload_bucket()
        signed = await self.presigner.put(
            place.bucket, place.stored(request.key), request.ttl_seconds, request.content_type
        )
        signed.key = request.key
        return signed

    async def presign_get(self, request: pb.PresignRequest) -> pb.PresignedUrl:
        place, key = await self._key(
            request.caller, request.bucket or self.default_bucket, request.key, request.stored_key
        )
        # Not looked up: a URL of a missing object answers 404 to whoever uses it.
        signed = await self.presigner.get(place.bucket, key, request.ttl_seconds)
        signed.key = place.view(key)
        return signed

    async def _exists(self, bucket: str) -> None:
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.head_bucket(Bucket=bucket)

    # Multipart uploads
    async def _upload_place(self, caller: str, bucket: str, key: str) -> tuple[Place, str]:
        place = await self.ownership.place(caller, bucket, write=True)
        return place, place.stored(validation.key(key))

    async def create_multipart_upload(
        self, request: pb.CreateMultipartUploadRequest
    ) -> pb.MultipartUpload:
        # Without a bucket, the default upload bucket, as for a presigned PUT.
        bucket = request.bucket or self.default_bucket
        place, key = await self._upload_place(request.caller, bucket, request.key)
        if place.bucket == self.default_bucket:
            await self._ensure_upload_bucket()
        params: dict[str, Any] = {"Bucket": place.bucket, "Key": key}
        if request.content_type:
            params["ContentType"] = request.content_type
        with s3_errors(f"bucket {place.bucket!r}"):
            created = await self.s3.create_multipart_upload(**params)
        return pb.MultipartUpload(
            bucket=place.bucket, key=request.key, upload_id=created["UploadId"]
        )

    async def presign_upload_part(self, request: pb.PresignUploadPartRequest) -> pb.PresignedUrl:
        place, key = await self._upload_place(request.caller, request.bucket, request.key)
        if not request.upload_id:
            raise InvalidInputError("upload_id must not be empty")
        part = validation.part_number(request.part_number)
        signed = await self.presigner.upload_part(
            place.bucket, key, request.upload_id, part, request.ttl_seconds
        )
        signed.key = request.key
        return signed

    async def complete_multipart_upload(
        self, request: pb.CompleteMultipartUploadRequest
    ) -> pb.ObjectInfo:
        place, key = await self._upload_place(request.caller, request.bucket, request.key)
        if not request.parts:
            raise InvalidInputError("parts must not be empty")
        parts = [
            {"PartNumber": validation.part_number(p.part_number), "ETag": p.etag}
            for p in request.parts
        ]
        with s3_errors(f"multipart upload of {request.key!r} to bucket {place.bucket!r}"):
            await self.s3.complete_multipart_upload(
                Bucket=place.bucket,
                Key=key,
                UploadId=request.upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        info = await self._stat(place, key)
        await self.events.created(place.bucket, info.key, info.size, info.etag, request.caller)
        return info

    async def abort_multipart_upload(self, request: pb.MultipartUploadRef) -> None:
        place, key = await self._upload_place(request.caller, request.bucket, request.key)
        with s3_errors(f"multipart upload of {request.key!r} to bucket {place.bucket!r}"):
            await self.s3.abort_multipart_upload(
                Bucket=place.bucket, Key=key, UploadId=request.upload_id
            )
