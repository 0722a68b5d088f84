"""Benchmark of the gateway under a hostile-query attack (`make bench`): for
ATTACK_SECONDS, ATTACKERS clients on loopback send deep, many-alias and
fan-out documents as fast as they are refused (half with local-guest's token,
half without), while local-dev's ordinary query is timed. Prints the
gateway's resident memory before, at its highest during, and after the
attack, and the p50/p99 of the ordinary query during the attack against the
same query on the idle gateway, measured in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import httpx
import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.bench_stats import percentile, report, rss_mib
from simpipe_devstack.stack import Stack

ATTACK_SECONDS = 30.0
ATTACKERS = 4
IDLE_SAMPLES = 200
NORMAL = "{ projects { id name } username }"
HOSTILE = [
    "{ "
    + " { ".join(["projects"] + ["dryRuns" if i % 2 else "project" for i in range(1, 40)])
    + " { id }"
    + " }" * 40,
    "{ " + " ".join(f"a{i}: projects {{ id }}" for i in range(2000)) + " }",
    "{ " + " ".join(f"p{i}: ping" for i in range(20_000)) + " }",
    "{ projects { dryRuns { project { dryRuns { project { dryRuns { id } } } } } } }",
]


async def timed(gql: AsyncSimpipe) -> float:
    started = time.perf_counter()
    await gql.graphql(NORMAL)
    return time.perf_counter() - started


async def attack(url: str, token: str | None, until: float) -> int:
    """Hostile documents back to back until `until`; how many were refused."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    refused = 0
    async with httpx.AsyncClient(timeout=30.0) as http:
        for query in itertools.cycle(HOSTILE):
            if time.monotonic() >= until:
                return refused
            body = (await http.post(url, json={"query": query}, headers=headers)).json()
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
            assert codes == ["QUERY_TOO_COMPLEX"], codes
            refused += 1
    raise AssertionError("unreachable")


async def highest_rss(pid: int, done: asyncio.Event) -> float:
    """The gateway's resident memory, sampled every 100 ms until `done`."""
    highest = rss_mib(pid)
    while not done.is_set():
        highest = max(highest, rss_mib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.1)
    return highest


@pytest.mark.timeout(300)
async def test_gateway_memory_and_latency_during_a_hostile_query_attack(
    stack: Stack, endpoints: dict[str, str], dev: AsyncSimpipe
) -> None:
    pid = stack.supervisor.pid("gateway")
    assert pid is not None, "the gateway is not running"
    url = endpoints["graphql"]
    for _ in range(20):  # warm up: connections, caches
        await timed(dev)
    idle = [await timed(dev) for _ in range(IDLE_SAMPLES)]
    before = rss_mib(pid)

    done = asyncio.Event()
    sampler = asyncio.create_task(highest_rss(pid, done))
    until = time.monotonic() + ATTACK_SECONDS
    tokens = [stack.secrets.api_tokens["local-guest"], None]
    attackers = [asyncio.create_task(attack(url, tokens[i % 2], until)) for i in range(ATTACKERS)]
    during: list[float] = []
    while time.monotonic() < until:
        during.append(await timed(dev))
    refused = sum(await asyncio.gather(*attackers))
    done.set()
    highest = await sampler
    after = rss_mib(pid)

    report("ordinary query during the attack", during, idle, "idle gateway")
    print(
        f"[bench] hostile-query attack: {ATTACK_SECONDS:.0f} s, {ATTACKERS} clients,"
        f" {refused} documents refused ({refused / ATTACK_SECONDS:.0f}/s) |"
        f" gateway RSS before {before:.1f} MiB, highest {highest:.1f} MiB,"
        f" after {after:.1f} MiB | ordinary p99 {percentile(during, 0.99) * 1000:.1f} ms"
        f" vs idle {percentile(idle, 0.99) * 1000:.1f} ms"
    )
