"""Benchmarks of the client and the CLI (`make bench`), next to the raw
component measured in the same run:

- the `simpipe` CLI's start-up: `--help` and a one-call command
  (`whoami`) vs. the bare interpreter starting;
- 1 GiB uploaded through the client (multipart through presigned URLs the
  gateway answers) vs. aioboto3's transfer manager straight to S3 with the
  admin's keys (target: the client at >= 0.9x its speed), and through
  `simpipe files put`.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.bench_stats import report
from simpipe_devstack.demo import SIMPIPE
from simpipe_devstack.stack import Stack

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

MIB = 1024 * 1024
UPLOAD_MIB = 1024
UPLOAD_ROUNDS = 3
START_UPS = 15


def timed_run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def test_cli_start_up_vs_the_interpreter(
    stack: Stack, endpoints: dict[str, str], tmp_path: Path
) -> None:
    # As installed by pip, which compiles the bytecode: this machine's
    # PYTHONDONTWRITEBYTECODE would have every start compile every module.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "SIMPIPE_CONFIG": str(tmp_path / "none.toml"),
        "SIMPIPE_URL": endpoints["graphql"],
        "SIMPIPE_TOKEN": stack.secrets.api_tokens["local-dev"],
    }
    # Warm the page cache for all three, and write the bytecode.
    for argv in (
        [sys.executable, "-c", "pass"],
        [str(SIMPIPE), "--help"],
        [str(SIMPIPE), "whoami"],
    ):
        timed_run(argv, env)
    bare, help_, whoami = [], [], []
    for _ in range(START_UPS):
        bare.append(timed_run([sys.executable, "-c", "pass"], env))
        help_.append(timed_run([str(SIMPIPE), "--help"], env))
        whoami.append(timed_run([str(SIMPIPE), "whoami"], env))
    report("simpipe --help (start-up)", help_, bare, "python -c pass", decimals=0)
    report("simpipe whoami (start-up + 1 GraphQL call)", whoami, bare, "python -c pass", decimals=0)


@pytest.fixture
def gib_file(tmp_path: Path) -> Path:
    path = tmp_path / "gib.bin"
    prng = random.Random(1024)
    with path.open("wb") as out:
        for _ in range(UPLOAD_MIB):
            out.write(prng.randbytes(MIB))
    return path


@pytest.fixture
async def dev_client(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    async with AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens["local-dev"]) as client:
        yield client


@pytest.fixture
async def bench_bucket(dev_client: AsyncSimpipe) -> AsyncIterator[str]:
    """A bucket of local-dev's (the client's side and aioboto3's write to it)."""
    name = f"bench-client-{uuid.uuid4().hex[:8]}"
    await dev_client.graphql("mutation($n: String!) { createBucket(name: $n) }", n=name)
    yield name
    await dev_client.graphql(
        "mutation($n: String!) { deleteBucket(name: $n, force: true) }", n=name
    )


@pytest.mark.timeout(900)
async def test_a_gib_through_the_client_vs_aioboto3(
    dev_client: AsyncSimpipe,
    s3: S3Client,
    bench_bucket: str,
    gib_file: Path,
    stack: Stack,
    endpoints: dict[str, str],
) -> None:
    size = UPLOAD_MIB * MIB
    seconds: dict[str, list[float]] = {"client": [], "aioboto3": []}
    # Alternating, so both see the same disk cache and background load.
    for round_ in range(UPLOAD_ROUNDS):
        start = time.perf_counter()
        uploaded = await dev_client.upload_file(gib_file, f"client-{round_}", bench_bucket)
        seconds["client"].append(time.perf_counter() - start)
        assert uploaded.size == size
        start = time.perf_counter()
        await s3.upload_file(str(gib_file), bench_bucket, f"aioboto3-{round_}")
        seconds["aioboto3"].append(time.perf_counter() - start)
        assert (await s3.head_object(Bucket=bench_bucket, Key=f"aioboto3-{round_}"))[
            "ContentLength"
        ] == size
    env = {
        **os.environ,
        "SIMPIPE_URL": endpoints["graphql"],
        "SIMPIPE_TOKEN": stack.secrets.api_tokens["local-dev"],
    }
    cli = timed_run(
        [str(SIMPIPE), "files", "put", str(gib_file), "cli-0", "--bucket", bench_bucket], env
    )
    rate = {name: UPLOAD_MIB / statistics.median(s) for name, s in seconds.items()}
    print(
        f"\n[bench] {UPLOAD_MIB} MiB upload, MiB/s (median of {UPLOAD_ROUNDS}): simpipe_client "
        f"upload_file {rate['client']:.0f} | aioboto3 upload_file {rate['aioboto3']:.0f} | "
        f"ratio {rate['client'] / rate['aioboto3']:.2f} (target >= 0.9) | "
        f"simpipe files put (1 round, start-up included) {UPLOAD_MIB / cli:.0f}"
    )
