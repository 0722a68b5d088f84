"""Storage per owner, through the broker's gRPC API (an in-process server)
on moto's S3: what one caller has does not exist for another, whichever
call asks; the shared buckets show each caller their own part."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from pydantic import SecretStr

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe.v1 import storage_broker_pb2_grpc
from simpipe_common.errors import REASON_KEY
from simpipe_common.ownership import owner_hash
from simpipe_common.s3 import s3_client
from simpipe_common.testing import RecordedStream, moto_s3
from simpipe_storage_broker.api import StorageBrokerApi
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_storage_broker.object_events import ObjectEvents
from simpipe_storage_broker.ownership import OWNER_TAG, Ownership
from simpipe_storage_broker.presigner import Presigner
from simpipe_storage_broker.project_credentials import NoCredentialIssuer, ProjectCredentials
from simpipe_storage_broker.storage import Storage

ALICE, BOB = "alice@example.org", "bob"
UPLOADS, ARTIFACTS, REPORTS = "uploads-shared", "argo-artifacts", "simpipe-reports"

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from simpipe.v1.storage_broker_pb2_grpc import StorageBrokerAsyncStub


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@dataclass
class Broker:
    stub: "StorageBrokerAsyncStub"
    s3: "S3Client"
    events: RecordedStream


@pytest.fixture
async def broker(moto_endpoint: str) -> AsyncIterator[Broker]:
    settings = StorageBrokerSettings(
        s3_endpoint=moto_endpoint,
        s3_access_key="key",
        s3_secret_key=SecretStr("secret"),
        default_bucket=UPLOADS,
    )
    events = RecordedStream()
    async with AsyncExitStack() as stack:
        s3 = await stack.enter_async_context(s3_client(settings, 5))
        ownership = Ownership(s3, UPLOADS, ARTIFACTS, settings.reserved_buckets)
        storage = Storage(
            s3=s3,
            presigner=Presigner(s3, 600, 3600),
            events=ObjectEvents(events),
            ownership=ownership,
            region=settings.s3_region,
        )
        for bucket in (UPLOADS, ARTIFACTS, REPORTS):
            if bucket not in [b["Name"] for b in (await s3.list_buckets())["Buckets"]]:
                await s3.create_bucket(Bucket=bucket)
        server = grpc.aio.server()
        api = StorageBrokerApi(storage, ProjectCredentials(ownership, NoCredentialIssuer()))
        storage_broker_pb2_grpc.add_StorageBrokerServicer_to_server(api, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        try:
            yield Broker(storage_broker_pb2_grpc.StorageBrokerStub(channel), s3, events)
        finally:
            await channel.close()
            await server.stop(None)


async def refused(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request)
    reason = dict(caught.value.trailing_metadata() or ()).get(REASON_KEY, "")
    return caught.value.code(), str(reason)


NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "not-found")
RESERVED = (grpc.StatusCode.PERMISSION_DENIED, "reserved-bucket")


@pytest.fixture
async def alices_bucket(broker: Broker) -> str:
    name = f"alice-{uuid.uuid4().hex[:12]}"
    await broker.stub.CreateBucket(pb.BucketRef(caller=ALICE, bucket=name))
    await broker.s3.put_object(Bucket=name, Key="secret.txt", Body=b"alice's")
    return name


def every_call_on(bucket: str, key: str) -> list[tuple[str, Any]]:
    """Every object and bucket call of the API, by Bob, on `bucket`/`key`."""
    return [
        ("ListObjects", pb.ListObjectsRequest(caller=BOB, bucket=bucket)),
        ("StatObject", pb.ObjectRef(caller=BOB, bucket=bucket, key=key)),
        ("PresignGet", pb.PresignRequest(caller=BOB, bucket=bucket, key=key)),
        ("PresignPut", pb.PresignRequest(caller=BOB, bucket=bucket, key=key)),
        ("DeleteObjects", pb.DeleteObjectsRequest(caller=BOB, bucket=bucket, keys=[key])),
        ("DeleteBucket", pb.DeleteBucketRequest(caller=BOB, bucket=bucket, force=True)),
        ("CreateMultipartUpload", pb.CreateMultipartUploadRequest(caller=BOB, bucket=bucket, key=key)),
        ("PresignUploadPart", pb.PresignUploadPartRequest(
            caller=BOB, bucket=bucket, key=key, upload_id="u", part_number=1)),
        ("CompleteMultipartUpload", pb.CompleteMultipartUploadRequest(
            caller=BOB, bucket=bucket, key=key, upload_id="u",
            parts=[pb.CompletedPart(part_number=1, etag="e")])),
        ("AbortMultipartUpload", pb.MultipartUploadRef(
            caller=BOB, bucket=bucket, key=key, upload_id="u")),
    ]  # fmt: skip


async def test_another_owners_bucket_does_not_exist_for_any_call(
    broker: Broker, alices_bucket: str
) -> None:
    for method, request in every_call_on(alices_bucket, "secret.txt"):
        assert await refused(getattr(broker.stub, method), request) == NOT_FOUND, method
    # Nothing was touched, and the name stays taken (S3 names are global).
    head = await broker.s3.head_object(Bucket=alices_bucket, Key="secret.txt")
    assert head["ContentLength"] == len(b"alice's")
    assert await refused(
        broker.stub.CreateBucket, pb.BucketRef(caller=BOB, bucket=alices_bucket)
    ) == (grpc.StatusCode.ALREADY_EXISTS, "conflict")
    assert broker.events.events == []


async def test_a_bucket_made_past_the_broker_is_nobodys(broker: Broker) -> None:
    await broker.s3.create_bucket(Bucket="untagged-bucket")
    for method, request in every_call_on("untagged-bucket", "k"):
        assert await refused(getattr(broker.stub, method), request) == NOT_FOUND, method


async def test_a_bucket_is_tagged_with_its_owner_and_listed_for_them_only(
    broker: Broker, alices_bucket: str
) -> None:
    tags = (await broker.s3.get_bucket_tagging(Bucket=alices_bucket))["TagSet"]
    assert tags == [{"Key": OWNER_TAG, "Value": owner_hash(ALICE)}]
    alices = {b.name: b.reserved for b in (await broker.stub.ListBuckets(
        pb.ListBucketsRequest(caller=ALICE))).buckets}  # fmt: skip
    bobs = {b.name: b.reserved for b in (await broker.stub.ListBuckets(
        pb.ListBucketsRequest(caller=BOB))).buckets}  # fmt: skip
    assert alices_bucket in alices
    assert alices_bucket not in bobs
    # Both see the shared buckets (their own part of each); run reports, no one.
    for listed in (alices, bobs):
        assert (listed[UPLOADS], listed[ARTIFACTS]) == (False, True)
        assert REPORTS not in listed
        assert "untagged-bucket" not in listed
    # The owner deletes it; a name no one owns is free again.
    await broker.stub.DeleteBucket(
        pb.DeleteBucketRequest(caller=ALICE, bucket=alices_bucket, force=True)
    )
    await broker.stub.CreateBucket(pb.BucketRef(caller=BOB, bucket=alices_bucket))
    bobs_now = await broker.stub.ListBuckets(pb.ListBucketsRequest(caller=BOB))
    assert alices_bucket in [b.name for b in bobs_now.buckets]


async def test_uploads_are_split_by_owner_prefix_that_callers_never_see(broker: Broker) -> None:
    put = await broker.stub.PresignPut(pb.PresignRequest(caller=ALICE, key="in/data.csv"))
    assert (put.bucket, put.key) == (UPLOADS, "in/data.csv")
    assert f"/{UPLOADS}/{owner_hash(ALICE)}/in/data.csv?" in put.url
    stored = f"{owner_hash(ALICE)}/in/data.csv"
    await broker.s3.put_object(Bucket=UPLOADS, Key=stored, Body=b"a,b")

    listed = await broker.stub.ListObjects(
        pb.ListObjectsRequest(caller=ALICE, delimiter="/", with_download_urls=True)
    )
    assert list(listed.common_prefixes) == ["in/"]
    inner = await broker.stub.ListObjects(pb.ListObjectsRequest(caller=ALICE, prefix="in/"))
    assert [o.key for o in inner.objects] == ["in/data.csv"]
    stat = await broker.stub.StatObject(
        pb.ObjectRef(caller=ALICE, bucket=UPLOADS, key="in/data.csv")
    )
    assert (stat.key, stat.size) == ("in/data.csv", 3)

    # Bob has his own part, empty, and Alice's keys do not exist in it.
    bobs = await broker.stub.ListObjects(pb.ListObjectsRequest(caller=BOB, bucket=UPLOADS))
    assert list(bobs.objects) == []
    bob_stat = pb.ObjectRef(caller=BOB, bucket=UPLOADS, key="in/data.csv")
    assert (await refused(broker.stub.StatObject, bob_stat)) == NOT_FOUND
    # A key naming Alice's prefix is Bob's own key below his prefix.
    via_prefix = await broker.stub.PresignGet(pb.PresignRequest(caller=BOB, key=stored))
    assert f"/{owner_hash(BOB)}/{stored}?" in via_prefix.url
    deleted = await broker.stub.DeleteObjects(
        pb.DeleteObjectsRequest(caller=BOB, bucket=UPLOADS, keys=["in/data.csv", stored])
    )
    assert sorted(deleted.deleted) == sorted(["in/data.csv", stored])
    assert (await broker.s3.head_object(Bucket=UPLOADS, Key=stored))["ContentLength"] == 3
    # S3's 1024 bytes hold the prefix too.
    longest = "k" * (1024 - len(owner_hash(BOB)) - 1)
    await broker.stub.PresignPut(pb.PresignRequest(caller=BOB, key=longest))
    too_long = pb.PresignRequest(caller=BOB, key=longest + "k")
    assert await refused(broker.stub.PresignPut, too_long) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input-validation",
    )


async def test_keys_as_workflows_name_them_answer_only_in_the_callers_part(
    broker: Broker,
) -> None:
    alices = f"{owner_hash(ALICE)}/proj/run-1/run-1-123/main.log"
    await broker.s3.put_object(Bucket=ARTIFACTS, Key=alices, Body=b"log")
    stat = await broker.stub.StatObject(
        pb.ObjectRef(caller=ALICE, bucket=ARTIFACTS, key=alices, stored_key=True)
    )
    assert (stat.key, stat.size) == ("proj/run-1/run-1-123/main.log", 3)
    url = await broker.stub.PresignGet(
        pb.PresignRequest(caller=ALICE, bucket=ARTIFACTS, key=alices, stored_key=True)
    )
    assert (url.key, f"/{ARTIFACTS}/{alices}?" in url.url) == (
        "proj/run-1/run-1-123/main.log",
        True,
    )
    # The caller's view names the same file.
    view = pb.ObjectRef(caller=ALICE, bucket=ARTIFACTS, key="proj/run-1/run-1-123/main.log")
    assert (await broker.stub.StatObject(view)).size == 3
    listed = await broker.stub.ListObjects(pb.ListObjectsRequest(caller=ALICE, bucket=ARTIFACTS))
    assert [o.key for o in listed.objects] == ["proj/run-1/run-1-123/main.log"]

    for request in (
        pb.ObjectRef(caller=BOB, bucket=ARTIFACTS, key=alices, stored_key=True),
        pb.ObjectRef(caller=BOB, bucket=ARTIFACTS, key=f"{owner_hash(BOB)}/", stored_key=True),
    ):
        assert await refused(broker.stub.StatObject, request) == NOT_FOUND
    presign = pb.PresignRequest(caller=BOB, bucket=ARTIFACTS, key=alices, stored_key=True)
    assert await refused(broker.stub.PresignGet, presign) == NOT_FOUND
    bobs = await broker.stub.ListObjects(pb.ListObjectsRequest(caller=BOB, bucket=ARTIFACTS))
    assert list(bobs.objects) == []


@pytest.mark.parametrize("bucket", [UPLOADS, ARTIFACTS, REPORTS])
async def test_nobody_creates_or_deletes_a_reserved_bucket(broker: Broker, bucket: str) -> None:
    for method, request in [
        ("CreateBucket", pb.BucketRef(caller=ALICE, bucket=bucket)),
        ("DeleteBucket", pb.DeleteBucketRequest(caller=ALICE, bucket=bucket)),
        ("DeleteBucket", pb.DeleteBucketRequest(caller=ALICE, bucket=bucket, force=True)),
    ]:
        assert await refused(getattr(broker.stub, method), request) == RESERVED, method
    assert bucket in [b["Name"] for b in (await broker.s3.list_buckets())["Buckets"]]


@pytest.mark.parametrize("bucket", [ARTIFACTS, REPORTS])
async def test_runs_files_are_read_only_and_reports_not_there(broker: Broker, bucket: str) -> None:
    await broker.s3.put_object(Bucket=bucket, Key=f"{owner_hash(ALICE)}/k", Body=b"x")
    writes = [
        ("PresignPut", pb.PresignRequest(caller=ALICE, bucket=bucket, key="k")),
        ("DeleteObjects", pb.DeleteObjectsRequest(caller=ALICE, bucket=bucket, keys=["k"])),
        ("CreateMultipartUpload", pb.CreateMultipartUploadRequest(
            caller=ALICE, bucket=bucket, key="k")),
    ]  # fmt: skip
    for method, request in writes:
        assert await refused(getattr(broker.stub, method), request) == RESERVED, method
    read = pb.ObjectRef(caller=ALICE, bucket=bucket, key="k")
    if bucket == ARTIFACTS:
        assert (await broker.stub.StatObject(read)).size == 1
    else:
        assert await refused(broker.stub.StatObject, read) == NOT_FOUND
        listing = pb.ListObjectsRequest(caller=ALICE, bucket=bucket)
        assert await refused(broker.stub.ListObjects, listing) == NOT_FOUND


async def test_the_owner_can_do_everything_in_their_bucket(
    broker: Broker, alices_bucket: str
) -> None:
    ref = pb.ObjectRef(caller=ALICE, bucket=alices_bucket, key="secret.txt")
    assert (await broker.stub.StatObject(ref)).size == len(b"alice's")
    upload = await broker.stub.CreateMultipartUpload(
        pb.CreateMultipartUploadRequest(caller=ALICE, bucket=alices_bucket, key="big")
    )
    assert upload.key == "big"
    await broker.stub.AbortMultipartUpload(
        pb.MultipartUploadRef(
            caller=ALICE, bucket=alices_bucket, key="big", upload_id=upload.upload_id
        )
    )
    deleted = await broker.stub.DeleteObjects(
        pb.DeleteObjectsRequest(caller=ALICE, bucket=alices_bucket, keys=["secret.txt"])
    )
    assert list(deleted.deleted) == ["secret.txt"]
    await broker.stub.DeleteBucket(pb.DeleteBucketRequest(caller=ALICE, bucket=alices_bucket))


async def test_project_credentials_are_refused_without_an_issuer(broker: Broker) -> None:
    request = pb.ProjectCredentialsRequest(caller=ALICE, project_id="p")
    assert await refused(broker.stub.IssueProjectCredentials, request) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "no-credential-issuer",
    )
    revoked = await broker.stub.RevokeProjectCredentials(request)
    assert revoked.revoked
