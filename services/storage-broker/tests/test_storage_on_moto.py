"""The broker's storage operations on moto's S3 server, in this process on
loopback; events are recorded instead of published. Who sees what is
test_ownership_on_moto's."""

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from simpipe.v1 import events_pb2
from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_common.errors import (
    ConflictError,
    FailedPreconditionError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from simpipe_common.s3 import s3_client
from simpipe_common.testing import RecordedStream, moto_s3
from simpipe_events import contract
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_storage_broker.object_events import ObjectEvents
from simpipe_storage_broker.ownership import Ownership
from simpipe_storage_broker.presigner import Presigner
from simpipe_storage_broker.storage import Storage

PUBLIC = "https://files.example.org"
CALLER = "alice"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def settings(moto_endpoint: str) -> StorageBrokerSettings:
    return StorageBrokerSettings(
        s3_endpoint=moto_endpoint,
        s3_access_key="key",
        s3_secret_key=SecretStr("secret"),
        s3_public_endpoint=PUBLIC,
        default_bucket="uploads-default",
    )


@pytest.fixture
def publisher() -> RecordedStream:
    return RecordedStream()


@pytest.fixture
async def storage(
    settings: StorageBrokerSettings, publisher: RecordedStream
) -> AsyncIterator[Storage]:
    async with AsyncExitStack() as stack:
        s3 = await stack.enter_async_context(s3_client(settings, 5))
        signer = await stack.enter_async_context(s3_client(settings, 5, settings.presign_endpoint))
        yield Storage(
            s3=s3,
            presigner=Presigner(signer, 600, 3600),
            events=ObjectEvents(publisher),
            ownership=Ownership(
                s3=s3,
                upload_bucket=settings.default_bucket,
                artifact_bucket=settings.artifact_bucket,
                reserved_buckets=settings.reserved_buckets,
            ),
            region=settings.s3_region,
        )


async def test_buckets_are_created_listed_and_deleted(storage: Storage) -> None:
    await storage.create_bucket(CALLER, "unit-a")
    with pytest.raises(ConflictError):
        await storage.create_bucket(CALLER, "unit-a")
    assert "unit-a" in [b.name for b in await storage.list_buckets(CALLER)]
    await storage.delete_bucket(CALLER, "unit-a", force=False)
    with pytest.raises(NotFoundError):
        await storage.delete_bucket(CALLER, "unit-a", force=False)


@pytest.mark.parametrize("bucket", ["argo-artifacts", "simpipe-reports"])
async def test_reserved_buckets_are_refused_for_every_write(storage: Storage, bucket: str) -> None:
    writes = [
        storage.create_bucket(CALLER, bucket),
        storage.delete_bucket(CALLER, bucket, force=True),
        storage.delete_objects(CALLER, bucket, ["k"]),
        storage.presign_put(pb.PresignRequest(caller=CALLER, bucket=bucket, key="k")),
        storage.create_multipart_upload(
            pb.CreateMultipartUploadRequest(caller=CALLER, bucket=bucket, key="k")
        ),
    ]
    for write in writes:
        with pytest.raises(PermissionDeniedError) as caught:
            await write
        assert caught.value.reason == "reserved-bucket"


async def test_a_non_empty_bucket_needs_force_and_its_objects_are_announced(
    storage: Storage, publisher: RecordedStream
) -> None:
    await storage.create_bucket(CALLER, "unit-full")
    for key in ("a", "b/c"):
        await storage.s3.put_object(Bucket="unit-full", Key=key, Body=b"x")
    with pytest.raises(FailedPreconditionError) as caught:
        await storage.delete_bucket(CALLER, "unit-full", force=False)
    assert caught.value.reason == "bucket-not-empty"
    await storage.delete_bucket(CALLER, "unit-full", force=True)
    assert all(isinstance(e, events_pb2.ObjectDeleted) for e in publisher.events)
    assert sorted(e.key for e in publisher.events) == ["a", "b/c"]  # type: ignore[attr-defined]


async def test_presigned_urls_point_at_the_public_endpoint(storage: Storage) -> None:
    await storage.create_bucket(CALLER, "unit-urls")
    put = await storage.presign_put(
        pb.PresignRequest(
            caller=CALLER, bucket="unit-urls", key="in/a b.csv", content_type="text/csv"
        )
    )
    assert put.url.startswith(f"{PUBLIC}/unit-urls/in/a%20b.csv?")
    assert "X-Amz-Expires=600" in put.url
    assert (put.method, dict(put.headers)) == ("PUT", {"Content-Type": "text/csv"})
    get = await storage.presign_get(
        pb.PresignRequest(caller=CALLER, bucket="unit-urls", key="k", ttl_seconds=5)
    )
    assert "X-Amz-Expires=5" in get.url
    with pytest.raises(InvalidInputError):
        await storage.presign_get(
            pb.PresignRequest(caller=CALLER, bucket="unit-urls", key="k", ttl_seconds=3601)
        )


async def test_presigned_put_to_a_missing_bucket_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFoundError):
        await storage.presign_put(pb.PresignRequest(caller=CALLER, bucket="unit-missing", key="k"))


async def test_no_bucket_means_the_default_bucket_made_on_first_upload(storage: Storage) -> None:
    assert (await storage.list_objects(pb.ListObjectsRequest(caller=CALLER))).objects == []
    url = await storage.presign_put(pb.PresignRequest(caller=CALLER, key="k"))
    assert (url.bucket, url.key) == ("uploads-default", "k")
    assert "uploads-default" in [b.name for b in await storage.list_buckets(CALLER)]
    await storage.presign_put(pb.PresignRequest(caller=CALLER, key="again"))  # there: fine


async def test_listing_pages_and_folders(storage: Storage) -> None:
    await storage.create_bucket(CALLER, "unit-list")
    for key in ("a/1", "a/2", "b", "c/d/e"):
        await storage.s3.put_object(Bucket="unit-list", Key=key, Body=key.encode())
    folders = await storage.list_objects(
        pb.ListObjectsRequest(caller=CALLER, bucket="unit-list", delimiter="/")
    )
    assert ([o.key for o in folders.objects], list(folders.common_prefixes)) == (
        ["b"],
        ["a/", "c/"],
    )
    first = await storage.list_objects(
        pb.ListObjectsRequest(caller=CALLER, bucket="unit-list", page_size=3)
    )
    assert [o.key for o in first.objects] == ["a/1", "a/2", "b"]
    rest = await storage.list_objects(
        pb.ListObjectsRequest(
            caller=CALLER, bucket="unit-list", page_size=3, page_token=first.next_page_token
        )
    )
    assert ([o.key for o in rest.objects], rest.next_page_token) == (["c/d/e"], "")
    with pytest.raises(InvalidInputError):
        await storage.list_objects(
            pb.ListObjectsRequest(caller=CALLER, bucket="unit-list", delimiter="|")
        )


async def test_deletes_and_completed_uploads_are_announced(
    storage: Storage, publisher: RecordedStream
) -> None:
    await storage.create_bucket(CALLER, "unit.events")
    upload = await storage.create_multipart_upload(
        pb.CreateMultipartUploadRequest(caller=CALLER, bucket="unit.events", key="big")
    )
    part = await storage.s3.upload_part(
        Bucket="unit.events", Key="big", UploadId=upload.upload_id, PartNumber=1, Body=b"1234"
    )
    info = await storage.complete_multipart_upload(
        pb.CompleteMultipartUploadRequest(
            caller=CALLER, bucket="unit.events", key="big", upload_id=upload.upload_id,
            parts=[pb.CompletedPart(part_number=1, etag=part["ETag"])],
        )
    )  # fmt: skip
    assert info.size == 4
    deleted = await storage.delete_objects(CALLER, "unit.events", ["big", "never-there"])
    assert sorted(deleted.deleted) == ["big", "never-there"]

    created_at, deleted_at = (
        contract.event_type(kind).subject(owner=CALLER, bucket="unit.events")
        for kind in (events_pb2.ObjectCreated, events_pb2.ObjectDeleted)
    )
    assert publisher.subjects == [created_at, deleted_at, deleted_at]
    created, *gone = publisher.events
    assert isinstance(created, events_pb2.ObjectCreated)
    assert (created.key, created.size, created.etag, created.caller, created.owner) == (
        "big", 4, info.etag, CALLER, CALLER,
    )  # fmt: skip
    assert created.meta.event_id.startswith("created:unit.events:")
    assert created.meta.event_id.endswith(f":{info.etag}")
    assert created.meta.source == "storage-broker"
    assert all(isinstance(e, events_pb2.ObjectDeleted) for e in gone)
    assert sorted((e.key, e.caller, e.owner) for e in gone) == [  # type: ignore[attr-defined]
        ("big", CALLER, CALLER), ("never-there", CALLER, CALLER),
    ]  # fmt: skip


async def test_delete_refuses_bad_keys_before_deleting_any(storage: Storage) -> None:
    await storage.create_bucket(CALLER, "unit-bad")
    await storage.s3.put_object(Bucket="unit-bad", Key="ok", Body=b"x")
    with pytest.raises(InvalidInputError, match=r"keys\[1\]"):
        await storage.delete_objects(CALLER, "unit-bad", ["ok", "../escape"])
    ok = pb.ObjectRef(caller=CALLER, bucket="unit-bad", key="ok")
    assert (await storage.stat_object(ok)).size == 1


async def test_created_buckets_allow_the_configured_browser_origins(storage: Storage) -> None:
    gui = "http://127.0.0.1:4173"
    with_origins = replace(storage, cors_origins=(gui,))
    await with_origins.create_bucket(CALLER, "unit-cors")
    rules = (await storage.s3.get_bucket_cors(Bucket="unit-cors"))["CORSRules"]
    assert [r["AllowedOrigins"] for r in rules] == [[gui]]
    assert sorted(rules[0]["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
    # A multipart upload from a page completes with the parts' ETags.
    assert rules[0]["ExposeHeaders"] == ["ETag"]
    # Without origins configured, a bucket gets no CORS rule at all.
    await storage.create_bucket(CALLER, "unit-no-cors")
    with pytest.raises(ClientError, match="NoSuchCORSConfiguration"):
        await storage.s3.get_bucket_cors(Bucket="unit-no-cors")


async def test_an_s3_without_bucket_cors_still_creates_the_bucket(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MinIO answers PutBucketCors with NotImplemented.
    async def not_implemented(**_: object) -> None:
        raise ClientError({"Error": {"Code": "NotImplemented"}}, "PutBucketCors")

    monkeypatch.setattr(storage.s3, "put_bucket_cors", not_implemented)
    with_origins = replace(storage, cors_origins=("http://127.0.0.1:4173",))
    await with_origins.create_bucket(CALLER, "unit-minio-like")
    assert "unit-minio-like" in [b.name for b in await storage.list_buckets(CALLER)]


async def test_a_multipart_upload_without_a_bucket_goes_to_the_callers_uploads(
    storage: Storage,
) -> None:
    upload = await storage.create_multipart_upload(
        pb.CreateMultipartUploadRequest(caller=CALLER, key="big/file.bin")
    )
    assert (upload.bucket, upload.key) == ("uploads-default", "big/file.bin")
    listed = await storage.s3.list_multipart_uploads(Bucket="uploads-default")
    [stored] = [u["Key"] for u in listed["Uploads"] if u["UploadId"] == upload.upload_id]
    # In the caller's own part of the shared bucket.
    assert stored.endswith("/big/file.bin")
    assert stored != "big/file.bin"
