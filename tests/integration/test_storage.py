"""Files on the real stack: the storage-broker over gRPC and the gateway's
GraphQL storage API, with bytes moved only by plain HTTP clients and the AWS
CLI through presigned URLs.

The broker-level tests run twice: against the stack's broker on MinIO, and
against a broker started here on moto's S3 server, a second S3
implementation (to show the broker holds for "any S3", not just MinIO).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import httpx
import nats
import pytest

from simpipe.v1 import events_pb2, storage_broker_pb2, storage_broker_pb2_grpc
from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.errors import REASON_KEY
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.minio import SYSTEM_BUCKETS, UPLOADS_BUCKET
from simpipe_devstack.components.nats import nats_user_env
from simpipe_devstack.mesh_pki import stack_pki
from simpipe_devstack.mesh_users import TESTS
from simpipe_devstack.readiness import http_ok, wait_until
from simpipe_devstack.stack import Stack
from simpipe_events import contract

if TYPE_CHECKING:
    from nats.aio.subscription import Subscription

    from simpipe.v1.storage_broker_pb2_grpc import StorageBrokerAsyncStub

pb = storage_broker_pb2
ObjectEvent = events_pb2.ObjectCreated | events_pb2.ObjectDeleted
CALLER = "storage-tester"
MIB = 1024 * 1024
# S3's smallest part (all but the last).
MIN_PART = 5 * MIB

BAD_KEYS = {
    "traversal": "../outside",
    "inner traversal": "inputs/../../outside",
    "dot segment": "./inputs/a.csv",
    "absolute": "/etc/passwd",
    "empty": "",
    "empty segment": "inputs//a.csv",
    "NUL": "a\x00b",
    "newline": "a\nb.csv",
    "DEL": "a\x7fb",
    "escape": "a\x1b[31mb",
    "bidi override": "invoice\u202egpj.exe",
    "zero-width space": "a\u200bb",
    "backslash": "..\\windows",
    "too long": "k" * 1025,
    "too long in UTF-8": "é" * 513,
}
GOOD_KEYS = ("inputs/data (1).csv", "ünïcode/ñame.txt", "a-b_c.d/e+f=g@h,i;j:k&l$m!n*o'p")


@dataclass(frozen=True)
class S3Target:
    """An S3 implementation with a storage-broker in front of it."""

    name: str
    broker_addr: str
    s3_endpoint: str
    access_key: str
    secret_key: str
    bucket_for_reads: str | None  # a reserved bucket that exists there


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(what: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `url` answers 200; fails at once, with the log, if `process` exits."""
    wait_until(
        what,
        http_ok(url),
        timeout=30,
        alive=lambda: process.poll() is None,
        on_failure=lambda: log.read_text(errors="replace"),
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def moto_target(
    stack: Stack, endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Target]:
    """moto's S3 server and a storage-broker on it, as local processes (with
    the stack's storage-broker's mesh identity: its certificate and NATS user)."""
    logs = tmp_path_factory.mktemp("moto")
    s3_port, http_port, grpc_port = free_port(), free_port(), free_port()
    with (logs / "moto.log").open("wb") as moto_log, (logs / "broker.log").open("wb") as broker_log:
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=moto_log,
            stderr=subprocess.STDOUT,
        )
        try:
            s3_endpoint = f"http://127.0.0.1:{s3_port}"
            wait_ready("moto", s3_endpoint, moto, logs / "moto.log")
            broker = subprocess.Popen(
                [sys.executable, "-m", "simpipe_storage_broker"],
                env={
                    **os.environ,
                    "SIMPIPE_BIND_HOST": "127.0.0.1",
                    "SIMPIPE_HTTP_PORT": str(http_port),
                    "SIMPIPE_GRPC_PORT": str(grpc_port),
                    "SIMPIPE_NATS_URL": endpoints["nats"],
                    "SIMPIPE_S3_ENDPOINT": s3_endpoint,
                    "SIMPIPE_S3_ACCESS_KEY": "moto-key",
                    "SIMPIPE_S3_SECRET_KEY": "moto-secret",
                    **stack_pki(stack).files("storage-broker").env(),
                    **nats_user_env(stack, "storage-broker"),
                    "SIMPIPE_GRPC_EXTRA_CALLERS": TESTS,
                },
                stdout=broker_log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_ready(
                    "storage-broker on moto",
                    f"http://127.0.0.1:{http_port}/health",
                    broker,
                    logs / "broker.log",
                )
                yield S3Target(
                    "moto", f"127.0.0.1:{grpc_port}", s3_endpoint, "moto-key", "moto-secret", None
                )
            finally:
                stop(broker)
        finally:
            stop(moto)


@pytest.fixture(params=["minio", "moto"])
def target(request: pytest.FixtureRequest, stack: Stack, endpoints: dict[str, str]) -> S3Target:
    if request.param == "moto":
        found: S3Target = request.getfixturevalue("moto_target")
        return found
    return minio(stack, endpoints)


def minio(stack: Stack, endpoints: dict[str, str]) -> S3Target:
    return S3Target(
        "minio",
        endpoints["storage-broker_grpc"],
        endpoints["s3"],
        stack.secrets.s3_access_key,
        stack.secrets.s3_secret_key,
        ARTIFACT_BUCKET,
    )


@pytest.fixture(name="minio")
def minio_target(stack: Stack, endpoints: dict[str, str]) -> S3Target:
    return minio(stack, endpoints)


def stub_of(
    target: S3Target, mesh: ServiceSettings
) -> tuple[grpc.aio.Channel, StorageBrokerAsyncStub]:
    channel = mesh_channel(target.broker_addr, mesh)
    return channel, storage_broker_pb2_grpc.StorageBrokerStub(channel)


@pytest.fixture
async def broker(target: S3Target, mesh: ServiceSettings) -> AsyncIterator[StorageBrokerAsyncStub]:
    channel, stub = stub_of(target, mesh)
    yield stub
    await channel.close()


@pytest.fixture
async def minio_broker(
    minio: S3Target, mesh: ServiceSettings
) -> AsyncIterator[StorageBrokerAsyncStub]:
    channel, stub = stub_of(minio, mesh)
    yield stub
    await channel.close()


async def new_bucket(stub: StorageBrokerAsyncStub) -> str:
    name = f"it-{uuid.uuid4().hex[:12]}"
    created = await stub.CreateBucket(pb.BucketRef(caller=CALLER, bucket=name))
    assert created.name == name
    return name


async def drop_bucket(stub: StorageBrokerAsyncStub, name: str) -> None:
    await stub.DeleteBucket(pb.DeleteBucketRequest(caller=CALLER, bucket=name, force=True))


@pytest.fixture
async def bucket(broker: StorageBrokerAsyncStub) -> AsyncIterator[str]:
    name = await new_bucket(broker)
    yield name
    await drop_bucket(broker, name)


@pytest.fixture
async def minio_bucket(minio_broker: StorageBrokerAsyncStub) -> AsyncIterator[str]:
    name = await new_bucket(minio_broker)
    yield name
    await drop_bucket(minio_broker, name)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=120) as client:
        yield client


async def upload(
    stub: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str, key: str, data: bytes
) -> None:
    url = await stub.PresignPut(pb.PresignRequest(caller=CALLER, bucket=bucket, key=key))
    response = await http.put(url.url, content=data, headers=dict(url.headers))
    assert response.status_code == 200, response.text


async def download(
    stub: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str, key: str
) -> bytes:
    url = await stub.PresignGet(pb.PresignRequest(caller=CALLER, bucket=bucket, key=key))
    response = await http.get(url.url)
    assert response.status_code == 200, response.text
    return response.content


async def refused(call: object, request: object) -> tuple[grpc.StatusCode, str]:
    """(status, simpipe-reason) of a call that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request)  # type: ignore[operator]
    reason = dict(caught.value.trailing_metadata() or ()).get(REASON_KEY, "")
    return caught.value.code(), str(reason)


@pytest.fixture
async def object_events(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[Subscription]:
    connection = await nats.connect(endpoints["nats"], **connect_options(mesh))
    # Callers change only their own storage: the events go to the caller.
    subscription = await connection.subscribe(contract.owner_filter(CALLER))
    yield subscription
    await connection.drain()


async def events_of(
    subscription: Subscription, bucket: str, count: int
) -> list[tuple[str, ObjectEvent]]:
    """The next `count` object events of `bucket`: (subject, payload)."""
    found: list[tuple[str, ObjectEvent]] = []
    async with asyncio.timeout(10):
        while len(found) < count:
            message = await subscription.next_msg(timeout=10)
            payload = contract.decode(message.subject, message.data)
            if isinstance(payload, ObjectEvent) and payload.bucket == bucket:
                assert message.headers is not None
                assert message.headers[contract.MSG_ID_HEADER] == payload.meta.event_id
                found.append((message.subject, payload))
    return found


def object_subject(kind: type[ObjectEvent], bucket: str) -> str:
    return contract.event_type(kind).subject(owner=CALLER, bucket=bucket)


# Broker-level: on MinIO and on moto


async def test_presigned_put_then_get_is_byte_exact(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    data = random.Random(1).randbytes(3 * MIB + 17)
    key = "inputs/run 1/data.bin"
    await upload(broker, http, bucket, key, data)
    assert await download(broker, http, bucket, key) == data

    stat = await broker.StatObject(pb.ObjectRef(caller=CALLER, bucket=bucket, key=key))
    assert (stat.bucket, stat.key, stat.size) == (bucket, key, len(data))
    assert stat.etag == hashlib.md5(data).hexdigest()
    assert stat.last_modified.seconds > 0


async def test_presigned_put_with_content_type_requires_it(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    url = await broker.PresignPut(
        pb.PresignRequest(caller=CALLER, bucket=bucket, key="t.csv", content_type="text/csv")
    )
    assert dict(url.headers) == {"Content-Type": "text/csv"}
    response = await http.put(url.url, content=b"a,b\n", headers=dict(url.headers))
    assert response.status_code == 200
    stat = await broker.StatObject(pb.ObjectRef(caller=CALLER, bucket=bucket, key="t.csv"))
    assert stat.content_type == "text/csv"


async def test_default_ttl_is_ten_minutes_and_bounded(
    broker: StorageBrokerAsyncStub, bucket: str
) -> None:
    before = time.time()
    url = await broker.PresignGet(pb.PresignRequest(caller=CALLER, bucket=bucket, key="k"))
    assert "X-Amz-Expires=600" in url.url
    assert abs(url.expires_at.seconds - (before + 600)) < 5
    assert url.method == "GET"
    status, _ = await refused(
        broker.PresignPut,
        pb.PresignRequest(caller=CALLER, bucket=bucket, key="k", ttl_seconds=8 * 24 * 3600),
    )
    assert status == grpc.StatusCode.INVALID_ARGUMENT


async def test_folder_view_and_paging(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    keys = ["top.txt", "a/1.txt", "a/2.txt", "a/deep/3.txt", "b/4.txt"]
    for key in keys:
        await upload(broker, http, bucket, key, key.encode())

    root = await broker.ListObjects(
        pb.ListObjectsRequest(caller=CALLER, bucket=bucket, delimiter="/")
    )
    assert [o.key for o in root.objects] == ["top.txt"]
    assert list(root.common_prefixes) == ["a/", "b/"]
    folder = await broker.ListObjects(
        pb.ListObjectsRequest(caller=CALLER, bucket=bucket, prefix="a/", delimiter="/")
    )
    assert [o.key for o in folder.objects] == ["a/1.txt", "a/2.txt"]
    assert list(folder.common_prefixes) == ["a/deep/"]

    paged: list[str] = []
    request = pb.ListObjectsRequest(caller=CALLER, bucket=bucket, page_size=2)
    pages = 0
    while True:
        page = await broker.ListObjects(request)
        assert len(page.objects) <= 2
        paged += [o.key for o in page.objects]
        pages += 1
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert (sorted(paged), pages) == (sorted(keys), 3)

    with_urls = await broker.ListObjects(
        pb.ListObjectsRequest(caller=CALLER, bucket=bucket, prefix="b/", with_download_urls=True)
    )
    (only,) = with_urls.objects
    assert (await http.get(only.download_url)).content == b"b/4.txt"


async def test_delete_many_publishes_object_deleted_events(
    broker: StorageBrokerAsyncStub,
    http: httpx.AsyncClient,
    bucket: str,
    object_events: Subscription,
) -> None:
    keys = ["x/1", "x/2", "x/3"]
    for key in keys:
        await upload(broker, http, bucket, key, b"-")
    done = await broker.DeleteObjects(
        pb.DeleteObjectsRequest(caller=CALLER, bucket=bucket, keys=keys)
    )
    assert (sorted(done.deleted), list(done.errors)) == (keys, [])
    listed = await broker.ListObjects(pb.ListObjectsRequest(caller=CALLER, bucket=bucket))
    assert list(listed.objects) == []

    received = await events_of(object_events, bucket, 3)
    assert {subject for subject, _ in received} == {
        object_subject(events_pb2.ObjectDeleted, bucket)
    }
    assert sorted(e.key for _, e in received) == keys
    assert {(e.caller, e.owner, e.meta.source) for _, e in received} == {
        (CALLER, CALLER, "storage-broker")
    }


async def test_multipart_upload_through_presigned_parts(
    broker: StorageBrokerAsyncStub,
    http: httpx.AsyncClient,
    bucket: str,
    object_events: Subscription,
) -> None:
    parts = [random.Random(2).randbytes(MIN_PART), b"the last part may be small"]
    key = "big/file.bin"
    upload_ = await broker.CreateMultipartUpload(
        pb.CreateMultipartUploadRequest(caller=CALLER, bucket=bucket, key=key)
    )
    completed = []
    for number, data in enumerate(parts, start=1):
        url = await broker.PresignUploadPart(
            pb.PresignUploadPartRequest(
                caller=CALLER, bucket=bucket, key=key, upload_id=upload_.upload_id,
                part_number=number,
            )
        )  # fmt: skip
        response = await http.put(url.url, content=data)
        assert response.status_code == 200, response.text
        completed.append(pb.CompletedPart(part_number=number, etag=response.headers["ETag"]))
    info = await broker.CompleteMultipartUpload(
        pb.CompleteMultipartUploadRequest(
            caller=CALLER, bucket=bucket, key=key, upload_id=upload_.upload_id, parts=completed
        )
    )
    assert info.size == sum(map(len, parts))
    assert await download(broker, http, bucket, key) == b"".join(parts)

    ((subject, event),) = await events_of(object_events, bucket, 1)
    assert subject == object_subject(events_pb2.ObjectCreated, bucket)
    assert isinstance(event, events_pb2.ObjectCreated)
    assert (event.key, event.size, event.etag) == (key, info.size, info.etag)
    assert (event.caller, event.owner) == (CALLER, CALLER)


async def test_aborted_multipart_upload_takes_no_more_parts(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    ref = await broker.CreateMultipartUpload(
        pb.CreateMultipartUploadRequest(caller=CALLER, bucket=bucket, key="gone")
    )
    aborted = await broker.AbortMultipartUpload(
        pb.MultipartUploadRef(caller=CALLER, bucket=bucket, key="gone", upload_id=ref.upload_id)
    )
    assert aborted.aborted
    url = await broker.PresignUploadPart(
        pb.PresignUploadPartRequest(
            caller=CALLER, bucket=bucket, key="gone", upload_id=ref.upload_id, part_number=1
        )
    )
    # MinIO answers NoSuchUpload (404); moto fails it with a 500.
    assert (await http.put(url.url, content=b"late part")).status_code >= 400


@pytest.mark.parametrize("problem", BAD_KEYS)
async def test_every_bad_key_is_refused_by_every_call(
    broker: StorageBrokerAsyncStub, bucket: str, problem: str
) -> None:
    key = BAD_KEYS[problem]
    calls = [
        (broker.PresignPut, pb.PresignRequest(caller=CALLER, bucket=bucket, key=key)),
        (broker.PresignGet, pb.PresignRequest(caller=CALLER, bucket=bucket, key=key)),
        (broker.StatObject, pb.ObjectRef(caller=CALLER, bucket=bucket, key=key)),
        (broker.DeleteObjects, pb.DeleteObjectsRequest(caller=CALLER, bucket=bucket, keys=[key])),
        (
            broker.CreateMultipartUpload,
            pb.CreateMultipartUploadRequest(caller=CALLER, bucket=bucket, key=key),
        ),
    ]
    for call, request in calls:
        assert await refused(call, request) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "input-validation",
        ), (problem, call)


async def test_good_keys_with_any_script_and_safe_punctuation_work(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    for key in GOOD_KEYS:
        await upload(broker, http, bucket, key, key.encode())
        assert await download(broker, http, bucket, key) == key.encode()


@pytest.mark.parametrize("name", ["ab", "Upper", "under_score", "-dash", "a..b", "192.168.1.1"])
async def test_bad_bucket_names_are_refused(broker: StorageBrokerAsyncStub, name: str) -> None:
    assert await refused(broker.CreateBucket, pb.BucketRef(caller=CALLER, bucket=name)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input-validation",
    )


@pytest.mark.parametrize("reserved", SYSTEM_BUCKETS)
async def test_reserved_buckets_are_never_created_deleted_or_written(
    broker: StorageBrokerAsyncStub, reserved: str
) -> None:
    writes = [
        (broker.CreateBucket, pb.BucketRef(caller=CALLER, bucket=reserved)),
        (broker.DeleteBucket, pb.DeleteBucketRequest(caller=CALLER, bucket=reserved)),
        (broker.DeleteBucket, pb.DeleteBucketRequest(caller=CALLER, bucket=reserved, force=True)),
        (broker.PresignPut, pb.PresignRequest(caller=CALLER, bucket=reserved, key="k")),
        (broker.DeleteObjects, pb.DeleteObjectsRequest(caller=CALLER, bucket=reserved, keys=["k"])),
        (
            broker.CreateMultipartUpload,
            pb.CreateMultipartUploadRequest(caller=CALLER, bucket=reserved, key="k"),
        ),
    ]
    for call, request in writes:
        assert await refused(call, request) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "reserved-bucket",
        ), call


async def test_typed_errors_for_missing_existing_and_non_empty(
    broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, bucket: str
) -> None:
    missing = pb.ObjectRef(caller=CALLER, bucket=bucket, key="nothing-here")
    assert (await refused(broker.StatObject, missing))[0] == grpc.StatusCode.NOT_FOUND
    nowhere = pb.ListObjectsRequest(caller=CALLER, bucket=f"no-{uuid.uuid4().hex[:12]}")
    assert (await refused(broker.ListObjects, nowhere))[0] == grpc.StatusCode.NOT_FOUND
    again = pb.BucketRef(caller=CALLER, bucket=bucket)
    assert (await refused(broker.CreateBucket, again))[0] == grpc.StatusCode.ALREADY_EXISTS
    await upload(broker, http, bucket, "keep", b"1")
    assert await refused(
        broker.DeleteBucket, pb.DeleteBucketRequest(caller=CALLER, bucket=bucket)
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "bucket-not-empty")
    no_caller = pb.ListBucketsRequest()
    assert (await refused(broker.ListBuckets, no_caller))[0] == grpc.StatusCode.INVALID_ARGUMENT


async def test_aws_cli_upload_reads_back_byte_exact(
    target: S3Target,
    broker: StorageBrokerAsyncStub,
    http: httpx.AsyncClient,
    bucket: str,
    tmp_path: Path,
) -> None:
    # Above the CLI's 8 MiB threshold: it uploads in parts, its own way.
    data = random.Random(3).randbytes(12 * MIB + 5)
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n")
    cli = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("aws")),
        "--endpoint-url", target.s3_endpoint,
        "s3", "cp", str(source), f"s3://{bucket}/cli/upload.bin", "--no-progress",
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": target.access_key,
            "AWS_SECRET_ACCESS_KEY": target.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await cli.communicate()
    assert cli.returncode == 0, output.decode()
    assert await download(broker, http, bucket, "cli/upload.bin") == data


# MinIO only: what moto does not check (expiry), or too big for its memory


async def test_expired_url_is_refused(
    minio_broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, minio_bucket: str
) -> None:
    await upload(minio_broker, http, minio_bucket, "soon-gone", b"data")
    get = await minio_broker.PresignGet(
        pb.PresignRequest(caller=CALLER, bucket=minio_bucket, key="soon-gone", ttl_seconds=1)
    )
    put = await minio_broker.PresignPut(
        pb.PresignRequest(caller=CALLER, bucket=minio_bucket, key="late", ttl_seconds=1)
    )
    await asyncio.sleep(2)
    expired_get = await http.get(get.url)
    expired_put = await http.put(put.url, content=b"too late")
    assert (expired_get.status_code, expired_put.status_code) == (403, 403)
    assert b"expired" in expired_get.content.lower()
    status, _ = await refused(
        minio_broker.StatObject, pb.ObjectRef(caller=CALLER, bucket=minio_bucket, key="late")
    )
    assert status == grpc.StatusCode.NOT_FOUND


async def test_runs_files_are_readable_and_reports_not_there(
    minio_broker: StorageBrokerAsyncStub,
) -> None:
    """Each caller reads their own part of Argo's artifact bucket; the
    reports bucket does not exist for callers."""
    listed = await minio_broker.ListBuckets(pb.ListBucketsRequest(caller=CALLER))
    (reports,) = set(SYSTEM_BUCKETS) - {ARTIFACT_BUCKET}
    assert {b.name for b in listed.buckets if b.reserved} == {ARTIFACT_BUCKET}
    assert reports not in {b.name for b in listed.buckets}
    own_runs = await minio_broker.ListObjects(
        pb.ListObjectsRequest(caller=CALLER, bucket=ARTIFACT_BUCKET, delimiter="/")
    )
    assert list(own_runs.objects) == []  # this caller never ran anything
    listing = pb.ListObjectsRequest(caller=CALLER, bucket=reports)
    assert (await refused(minio_broker.ListObjects, listing))[0] == grpc.StatusCode.NOT_FOUND


GIB_PART = 64 * MIB


async def random_bytes(
    prng: random.Random, size: int, digest: hashlib._Hash
) -> AsyncIterator[bytes]:
    """`size` bytes of `prng`, a MiB at a time, added to `digest` as they go."""
    for _ in range(size // MIB):
        chunk = prng.randbytes(MIB)
        digest.update(chunk)
        yield chunk


@pytest.mark.timeout(420)
async def test_one_gib_file_by_multipart_through_presigned_part_urls(
    minio_broker: StorageBrokerAsyncStub, http: httpx.AsyncClient, minio_bucket: str
) -> None:
    """Generated and checked a MiB at a time from a seeded PRNG: the file is
    never in memory, not even one part of it."""
    size, key = 1024 * MIB, "huge/one-gib.bin"
    prng, sent = random.Random(1024), hashlib.sha256()
    created = await minio_broker.CreateMultipartUpload(
        pb.CreateMultipartUploadRequest(caller=CALLER, bucket=minio_bucket, key=key)
    )
    completed = []
    for number in range(1, size // GIB_PART + 1):
        url = await minio_broker.PresignUploadPart(
            pb.PresignUploadPartRequest(
                caller=CALLER, bucket=minio_bucket, key=key, upload_id=created.upload_id,
                part_number=number,
            )
        )  # fmt: skip
        # A streamed body with its length: S3 takes no chunked uploads.
        response = await http.put(
            url.url,
            content=random_bytes(prng, GIB_PART, sent),
            headers={"Content-Length": str(GIB_PART)},
        )
        assert response.status_code == 200, response.text
        completed.append(pb.CompletedPart(part_number=number, etag=response.headers["ETag"]))
    info = await minio_broker.CompleteMultipartUpload(
        pb.CompleteMultipartUploadRequest(
            caller=CALLER, bucket=minio_bucket, key=key, upload_id=created.upload_id,
            parts=completed,
        )
    )  # fmt: skip
    assert info.size == size

    get = await minio_broker.PresignGet(
        pb.PresignRequest(caller=CALLER, bucket=minio_bucket, key=key)
    )
    received, length = hashlib.sha256(), 0
    async with http.stream("GET", get.url) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes(MIB):
            received.update(chunk)
            length += len(chunk)
    assert (length, received.hexdigest()) == (size, sent.hexdigest())


# Through the gateway's GraphQL API (the original SIM-PIPE names)


async def graphql_error_code(gql: AsyncSimpipe, query: str, **variables: object) -> str:
    with pytest.raises(GraphQLError) as caught:
        await gql.graphql(query, **variables)
    (code,) = caught.value.codes
    return str(code)


UPLOAD_URL = (
    "mutation($k: String, $b: String) { computeUploadPresignedUrl(key: $k, bucketName: $b) }"
)


async def test_graphql_upload_list_download_and_delete(
    dev: AsyncSimpipe, http: httpx.AsyncClient
) -> None:
    name = f"gql-{uuid.uuid4().hex[:12]}"
    created = await dev.graphql("mutation($n: String!) { createBucket(name: $n) }", n=name)
    assert created == {"createBucket": name}
    buckets = (await dev.graphql("{ buckets { name } }"))["buckets"]
    assert {"name": name} in buckets

    data = random.Random(4).randbytes(MIB + 3)
    url = (await dev.graphql(UPLOAD_URL, k="inputs/data.bin", b=name))["computeUploadPresignedUrl"]
    assert (await http.put(url, content=data)).status_code == 200

    listed = await dev.graphql(
        "query($b: String) { artifacts(bucketName: $b) { name key url size bucketName } }", b=name
    )
    (artifact,) = listed["artifacts"]
    assert {k: artifact[k] for k in ("name", "key", "size", "bucketName")} == {
        "name": "inputs/data.bin",
        "key": "inputs/data.bin",
        "size": len(data),
        "bucketName": name,
    }
    assert (await http.get(artifact["url"])).content == data

    meta = await dev.graphql(
        "query($b: String!, $k: String!) { artifact(bucketName: $b, key: $k) {"
        " etag lastModified metaData size } }",
        b=name,
        k="inputs/data.bin",
    )
    assert meta["artifact"]["etag"] == hashlib.md5(data).hexdigest()
    assert meta["artifact"]["size"] == len(data)
    assert meta["artifact"]["lastModified"].endswith("Z")
    assert meta["artifact"]["metaData"] == {}

    delete_bucket = "mutation($n: String!) { deleteBucket(name: $n) }"
    assert await graphql_error_code(dev, delete_bucket, n=name) == "CONFLICT_ERROR"
    deleted = await dev.graphql(
        "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }",
        b=name,
        k=["inputs/data.bin"],
    )
    assert deleted == {"deleteArtifacts": True}
    assert await dev.graphql(delete_bucket, n=name) == {"deleteBucket": True}
    missing = 'query($b: String!) { artifact(bucketName: $b, key: "inputs/data.bin") { etag } }'
    assert await graphql_error_code(dev, missing, b=name) == "NOT_FOUND_ERROR"


async def test_graphql_errors_are_typed(dev: AsyncSimpipe, endpoints: dict[str, str]) -> None:
    for key in ("../outside", "/abs", "a\x00b", "k" * 1025):
        code = await graphql_error_code(dev, UPLOAD_URL, k=key, b="argo-artifacts-not")
        assert code == "INPUT_VALIDATION_ERROR", key
    for mutation in ("deleteBucket", "createBucket"):
        code = await graphql_error_code(dev, f'mutation {{ {mutation}(name: "argo-artifacts") }}')
        assert code == "FORBIDDEN", mutation
    assert await graphql_error_code(dev, UPLOAD_URL, k="x", b="argo-artifacts") == "FORBIDDEN"
    assert (
        await graphql_error_code(dev, 'mutation { createBucket(name: "Not_Valid") }')
        == "INPUT_VALIDATION_ERROR"
    )
    anonymous = AsyncSimpipe(endpoints["graphql"], None)
    try:
        assert await graphql_error_code(anonymous, "{ buckets { name } }") == "UNAUTHENTICATED"
    finally:
        await anonymous.aclose()


async def test_graphql_default_upload_bucket(dev: AsyncSimpipe, http: httpx.AsyncClient) -> None:
    """No bucket and no key: the broker's default bucket and a generated key."""
    url = (await dev.graphql(UPLOAD_URL))["computeUploadPresignedUrl"]
    assert (await http.put(url, content=b"x")).status_code == 200
    # /<bucket>/<the caller's owner prefix>/<key>: the prefix is not theirs to see.
    key = httpx.URL(url).path.split("/", 3)[3]
    listed = (await dev.graphql("{ artifacts { key bucketName } }"))["artifacts"]
    assert {"key": key, "bucketName": UPLOADS_BUCKET} in listed
    await dev.graphql(
        "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }",
        b=UPLOADS_BUCKET,
        k=[key],
    )
