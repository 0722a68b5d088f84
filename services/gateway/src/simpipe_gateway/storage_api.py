"""GraphQL queries and mutations on buckets and files (artifacts), with the
original SIM-PIPE controller API's names, over the storage-broker. Files
never pass through the gateway: it hands out presigned URLs."""

import uuid

import strawberry
from strawberry.scalars import JSON

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import rpc
from simpipe_gateway.input_bounds import MAX_LIST_ITEMS, bounded_list
from simpipe_gateway.scalars import iso
from simpipe_gateway.types import Artifact, Size

# `artifacts` lists a whole bucket: bounded, so a huge bucket cannot exhaust
# the gateway (the broker's ListObjects pages through any number).
MAX_LISTED_ARTIFACTS = 10_000


@strawberry.type
class Bucket:
    name: str
    reserved: bool = strawberry.field(
        default=False, description="One of SIM-PIPE's own buckets: readable, not writable."
    )


@strawberry.type
class ArtifactMetadata:
    etag: str
    last_modified: str | None
    meta_data: JSON = strawberry.field(description="The object's user metadata.")
    size: Size


def object_artifact(info: pb.ObjectInfo) -> Artifact:
    return Artifact(
        # The object's name is its key, as in the original API: its GUI
        # builds the bucket's folder tree from the names.
        name=info.key,
        key=info.key,
        url=info.download_url or None,
        size=info.size,
        bucket_name=info.bucket,
    )


@strawberry.type
class StorageQuery:
    @strawberry.field(
        description="The caller's own buckets, and the shared ones (the upload bucket, run files)"
        " in which each user sees only their own files."
    )  # type: ignore[untyped-decorator]
    async def buckets(self, info: GatewayInfo) -> list[Bucket]:
        found = await rpc(
            gateway(info).storage.ListBuckets, pb.ListBucketsRequest(caller=await caller(info))
        )
        return [Bucket(name=b.name, reserved=b.reserved) for b in found.buckets]

    @strawberry.field(
        description="The caller's files in a bucket (without bucketName: the default upload"
        " bucket, where each user sees only their own),"
        f" at most {MAX_LISTED_ARTIFACTS}, each with a download URL."
    )  # type: ignore[untyped-decorator]
    async def artifacts(
        self, info: GatewayInfo, bucket_name: str | None = None, prefix: str | None = None
    ) -> list[Artifact]:
        request = pb.ListObjectsRequest(
            caller=await caller(info),
            bucket=bucket_name or "",
            prefix=prefix or "",
            with_download_urls=True,
        )
        listed: list[Artifact] = []
        while len(listed) < MAX_LISTED_ARTIFACTS:
            page = await rpc(gateway(info).storage.ListObjects, request)
            listed.extend(object_artifact(o) for o in page.objects)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        return listed[:MAX_LISTED_ARTIFACTS]

    @strawberry.field
    async def artifact(
        self, info: GatewayInfo, bucket_name: str, key: str
    ) -> ArtifactMetadata | None:
        found = await rpc(
            gateway(info).storage.StatObject,
            pb.ObjectRef(caller=await caller(info), bucket=bucket_name, key=key),
        )
        return ArtifactMetadata(
            etag=found.etag,
            last_modified=iso(found.last_modified),
            meta_data=JSON(dict(found.metadata)),
            size=found.size,
        )


@strawberry.type
class StorageMutation:
    @strawberry.mutation(
        description="A URL to PUT a file to, valid 10 minutes. Without bucketName: the default"
        " upload bucket; without key: a generated one."
    )  # type: ignore[untyped-decorator]
    async def compute_upload_presigned_url(
        self, info: GatewayInfo, key: str | None = None, bucket_name: str | None = None
    ) -> str:
        presigned = await rpc(
            gateway(info).storage.PresignPut,
            pb.PresignRequest(
                caller=await caller(info), bucket=bucket_name or "", key=key or uuid.uuid4().hex
            ),
        )
        return presigned.url

    @strawberry.mutation
    async def create_bucket(self, info: GatewayInfo, name: str) -> str:
        created = await rpc(
            gateway(info).storage.CreateBucket, pb.BucketRef(caller=await caller(info), bucket=name)
        )
        return created.name

    @strawberry.mutation(
        description="Refused for a bucket that holds files, unless `force` deletes them too."
    )  # type: ignore[untyped-decorator]
    async def delete_bucket(self, info: GatewayInfo, name: str, force: bool = False) -> bool:
        done = await rpc(
            gateway(info).storage.DeleteBucket,
            pb.DeleteBucketRequest(caller=await caller(info), bucket=name, force=force),
        )
        return done.deleted

    @strawberry.mutation(
        description="True when every key is gone (a key that did not exist counts as deleted);"
        f" at most {MAX_LIST_ITEMS} keys at once."
    )  # type: ignore[untyped-decorator]
    async def delete_artifacts(self, info: GatewayInfo, bucket_name: str, keys: list[str]) -> bool:
        done = await rpc(
            gateway(info).storage.DeleteObjects,
            pb.DeleteObjectsRequest(
                caller=await caller(info), bucket=bucket_name, keys=bounded_list(keys, "keys")
            ),
        )
        return not done.errors
