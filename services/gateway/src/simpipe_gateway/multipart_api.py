"""Large files through GraphQL (the web GUI's and scripts' way to upload
more than one presigned PUT takes well): start a multipart upload, get
presigned URLs for its parts, PUT each part straight to S3, then complete it
with the parts' ETags, or abort it. The bytes never pass the gateway; the
storage-broker checks every step against what the caller owns."""

import asyncio

import strawberry

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import graphql_error, rpc
from simpipe_gateway.input_bounds import MAX_LIST_ITEMS, bounded_list
from simpipe_gateway.scalars import iso
from simpipe_gateway.storage_api import object_artifact
from simpipe_gateway.types import Artifact

# S3 numbers a multipart upload's parts 1 to 10,000.
MAX_PART_NUMBER = 10_000
# Part URLs presigned at once (each a call to the broker).
PRESIGN_CONCURRENCY = 16
INVALID = "INPUT_VALIDATION_ERROR"


@strawberry.type(description="A multipart upload under way: PUT its parts, then complete it.")
class MultipartUpload:
    bucket_name: str
    key: str = strawberry.field(description="The caller's view of the key.")
    upload_id: str


@strawberry.type(description="Where to PUT one part, and until when.")
class UploadPartUrl:
    part_number: int
    url: str
    expires_at: str | None


@strawberry.input
class CompletedPartInput:
    part_number: int
    etag: str = strawberry.field(description="The ETag header S3 answered the part's PUT with.")


def _part_numbers(given: list[int], what: str, limit: int) -> list[int]:
    numbers = bounded_list(given, what, limit)
    if not numbers:
        raise graphql_error(f"{what} must name at least one part", INVALID)
    for number in numbers:
        if not 1 <= number <= MAX_PART_NUMBER:
            raise graphql_error(
                f"a part number is 1 to {MAX_PART_NUMBER}; {number} is not", INVALID
            )
    if len(set(numbers)) != len(numbers):
        raise graphql_error(f"{what} names a part twice", INVALID)
    return numbers


@strawberry.type
class MultipartMutation:
    @strawberry.mutation(
        description="Starts a multipart upload (without bucketName: the default upload bucket)."
        " Parts are 5 MiB to 5 GiB, all but the last at least 5 MiB."
    )  # type: ignore[untyped-decorator]
    async def create_multipart_upload(
        self,
        info: GatewayInfo,
        key: str,
        bucket_name: str | None = None,
        content_type: str | None = None,
    ) -> MultipartUpload:
        created = await rpc(
            gateway(info).storage.CreateMultipartUpload,
            pb.CreateMultipartUploadRequest(
                caller=await caller(info),
                bucket=bucket_name or "",
                key=key,
                content_type=content_type or "",
            ),
        )
        return MultipartUpload(
            bucket_name=created.bucket, key=created.key, upload_id=created.upload_id
        )

    @strawberry.mutation(
        description=f"Presigned PUT URLs of parts of an upload, at most {MAX_LIST_ITEMS} at once."
    )  # type: ignore[untyped-decorator]
    async def upload_part_urls(
        self,
        info: GatewayInfo,
        bucket_name: str,
        key: str,
        upload_id: str,
        part_numbers: list[int],
    ) -> list[UploadPartUrl]:
        numbers = _part_numbers(part_numbers, "partNumbers", MAX_LIST_ITEMS)
        owner = await caller(info)
        presign = gateway(info).storage.PresignUploadPart
        limit = asyncio.Semaphore(PRESIGN_CONCURRENCY)

        async def one(number: int) -> UploadPartUrl:
            async with limit:
                found = await rpc(
                    presign,
                    pb.PresignUploadPartRequest(
                        caller=owner, bucket=bucket_name, key=key, upload_id=upload_id,
                        part_number=number,
                    ),
                )  # fmt: skip
            return UploadPartUrl(
                part_number=number, url=found.url, expires_at=iso(found.expires_at)
            )

        return list(await asyncio.gather(*(one(n) for n in numbers)))

    @strawberry.mutation(
        description="Joins the uploaded parts into the file; the parts' ETags in any order."
    )  # type: ignore[untyped-decorator]
    async def complete_multipart_upload(
        self,
        info: GatewayInfo,
        bucket_name: str,
        key: str,
        upload_id: str,
        parts: list[CompletedPartInput],
    ) -> Artifact:
        given = bounded_list(parts, "parts", MAX_PART_NUMBER)
        _part_numbers([p.part_number for p in given], "parts", MAX_PART_NUMBER)
        ordered = sorted(given, key=lambda p: p.part_number)
        done = await rpc(
            gateway(info).storage.CompleteMultipartUpload,
            pb.CompleteMultipartUploadRequest(
                caller=await caller(info),
                bucket=bucket_name,
                key=key,
                upload_id=upload_id,
                parts=[pb.CompletedPart(part_number=p.part_number, etag=p.etag) for p in ordered],
            ),
        )
        return object_artifact(done)

    @strawberry.mutation(description="Gives up an upload: its parts are deleted.")  # type: ignore[untyped-decorator]
    async def abort_multipart_upload(
        self, info: GatewayInfo, bucket_name: str, key: str, upload_id: str
    ) -> bool:
        done = await rpc(
            gateway(info).storage.AbortMultipartUpload,
            pb.MultipartUploadRef(
                caller=await caller(info), bucket=bucket_name, key=key, upload_id=upload_id
            ),
        )
        return done.aborted
