"""Benchmarks of the storage path (`make bench`): figures printed next to the
raw component measured in the same run, never asserted against a clock.

- a large upload through a presigned URL (the broker only signs; the bytes go
  straight to MinIO) vs. the same file put by aioboto3 directly: the broker
  stays out of the data path when the ratio is ~1 (target >= 0.9);
- the broker's RPC latency for StatObject and PresignPut vs. the S3 HEAD and
  the local signing they wrap.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe.v1 import storage_broker_pb2_grpc
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.bench_stats import report

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from simpipe.v1.storage_broker_pb2_grpc import StorageBrokerAsyncStub

CALLER = "bench"
MIB = 1024 * 1024
UPLOAD_MIB = 256
UPLOAD_ROUNDS = 3
RPC_CALLS = 200


@pytest.fixture
async def broker(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[StorageBrokerAsyncStub]:
    async with mesh_channel(endpoints["storage-broker_grpc"], mesh) as channel:
        yield storage_broker_pb2_grpc.StorageBrokerStub(channel)


@pytest.fixture
async def bucket(broker: StorageBrokerAsyncStub) -> AsyncIterator[str]:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    await broker.CreateBucket(pb.BucketRef(caller=CALLER, bucket=name))
    yield name
    await broker.DeleteBucket(pb.DeleteBucketRequest(caller=CALLER, bucket=name, force=True))


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    path = tmp_path / "large.bin"
    prng = random.Random(256)
    with path.open("wb") as out:
        for _ in range(UPLOAD_MIB):
            out.write(prng.randbytes(MIB))
    return path


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            yield chunk


async def timed(action: Awaitable[object]) -> float:
    """Seconds until `action` (a coroutine or gRPC call, not yet awaited) is done."""
    start = time.perf_counter()
    await action
    return time.perf_counter() - start


@pytest.mark.timeout(300)
async def test_presigned_upload_vs_direct_aioboto3(
    broker: StorageBrokerAsyncStub, s3: S3Client, bucket: str, large_file: Path
) -> None:
    size = UPLOAD_MIB * MIB

    async def presigned(key: str) -> None:
        url = await broker.PresignPut(pb.PresignRequest(caller=CALLER, bucket=bucket, key=key))
        async with httpx.AsyncClient(timeout=120) as http:
            response = await http.put(
                url.url, content=file_chunks(large_file), headers={"Content-Length": str(size)}
            )
        assert response.status_code == 200, response.text

    async def direct(key: str) -> None:
        with large_file.open("rb") as body:
            await s3.put_object(Bucket=bucket, Key=key, Body=body)

    async def managed(key: str) -> None:
        # aioboto3's transfer manager: 8 MiB parts, several at a time.
        await s3.upload_file(str(large_file), bucket, key)

    # Alternating, so all see the same disk cache and background load.
    seconds: dict[str, list[float]] = {"presigned": [], "direct": [], "managed": []}
    for round_ in range(UPLOAD_ROUNDS):
        seconds["presigned"].append(await timed(presigned(f"presigned-{round_}")))
        seconds["direct"].append(await timed(direct(f"direct-{round_}")))
        seconds["managed"].append(await timed(managed(f"managed-{round_}")))
    for key in ("presigned-0", "direct-0", "managed-0"):
        assert (await s3.head_object(Bucket=bucket, Key=key))["ContentLength"] == size

    rate = {name: UPLOAD_MIB / statistics.median(s) for name, s in seconds.items()}
    print(
        f"\n[bench] {UPLOAD_MIB} MiB upload, MiB/s (median of {UPLOAD_ROUNDS}): presigned PUT "
        f"{rate['presigned']:.0f} | direct aioboto3 put_object {rate['direct']:.0f} "
        f"(ratio {rate['presigned'] / rate['direct']:.2f}, target >= 0.9) | aioboto3 upload_file "
        f"multipart {rate['managed']:.0f} (ratio {rate['presigned'] / rate['managed']:.2f})"
    )


@pytest.mark.timeout(300)
async def test_broker_rpc_latency_vs_raw_s3(
    broker: StorageBrokerAsyncStub, s3: S3Client, bucket: str
) -> None:
    await s3.put_object(Bucket=bucket, Key="stat-me", Body=b"x" * 1024)
    stat = pb.ObjectRef(caller=CALLER, bucket=bucket, key="stat-me")
    presign = pb.PresignRequest(caller=CALLER, bucket=bucket, key="upload-me")
    # Warm connections and caches on both sides.
    for _ in range(10):
        await broker.StatObject(stat)
        await broker.PresignPut(presign)
        await s3.head_object(Bucket=bucket, Key="stat-me")

    stat_rpc = [await timed(broker.StatObject(stat)) for _ in range(RPC_CALLS)]
    stat_raw = [await timed(s3.head_object(Bucket=bucket, Key="stat-me")) for _ in range(RPC_CALLS)]
    report("StatObject over gRPC", stat_rpc, stat_raw, "aioboto3 head_object", decimals=2)

    presign_rpc = [await timed(broker.PresignPut(presign)) for _ in range(RPC_CALLS)]
    # What PresignPut does besides the RPC: a HEAD of the bucket, then local signing.
    presign_raw = [await timed(head_and_sign(s3, bucket, "upload-me")) for _ in range(RPC_CALLS)]
    report(
        "PresignPut over gRPC",
        presign_rpc,
        presign_raw,
        "aioboto3 head_bucket + presign",
        decimals=2,
    )


async def head_and_sign(s3: S3Client, bucket: str, key: str) -> str:
    await s3.head_bucket(Bucket=bucket)
    return await s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
    )
