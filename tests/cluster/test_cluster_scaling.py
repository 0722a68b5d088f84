"""Each service scaled on its own, in the cluster (`make up MODE=cluster`):
with the gateway at 3 replicas and every other service at 2, dry runs go on
while one replica of each service is deleted, the argo-watcher's leader
among them; afterwards every run created has exactly one terminal phase
event and exactly one report (MetricsReady), one watcher holds the Lease,
and every gateway replica delivers a run's updates over its subscription.
Bounded: one run a second for about 30 s, six deletions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import pytest

from simpipe.v1 import events_pb2
from simpipe_client import AsyncSimpipe
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.demo import DEMO_USER
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.images import SERVICE_HTTP_PORTS
from simpipe_devstack.layout import SERVICES_NAMESPACE
from simpipe_devstack.stack import Stack
from simpipe_devstack.stored_events import stored_events
from simpipe_events import contract
from simpipe_events.last_event import last_event

REPLICAS = {
    "gateway": 3,
    "workflow-submitter": 2,
    "argo-watcher": 2,
    "metrics-collector": 2,
    "storage-broker": 2,
    "kwok-scaler": 2,
}
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
SETTLE_SECONDS = 240.0
BETWEEN_DELETIONS_SECONDS = 4.0


def kubectl(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
         "-n", SERVICES_NAMESPACE, *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"kubectl {' '.join(args[:2])}: {result.stderr}"
    return result.stdout


def live_pods(stack: Stack, service: str) -> dict[str, str]:
    """Name -> address of the service's running pods not being deleted."""
    listed = json.loads(
        kubectl(stack, "get", "pods", "-l", f"app.kubernetes.io/name={service}", "-o", "json")
    )
    return {
        pod["metadata"]["name"]: pod["status"]["podIP"]
        for pod in listed["items"]
        if pod["status"].get("phase") == "Running"
        and "deletionTimestamp" not in pod["metadata"]
        and pod["status"].get("podIP")
    }


def metric(address: str, service: str, name: str) -> float:
    """A sample's value from a pod's own /metrics (0 when absent)."""
    port = SERVICE_HTTP_PORTS[service]
    text = httpx.get(f"http://{address}:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith((f"{name} ", f"{name}_total ")):
            return float(line.split()[-1])
    return 0.0


def scale(stack: Stack, replicas: dict[str, int]) -> None:
    for service, count in replicas.items():
        kubectl(stack, "scale", f"deployment/{service}", f"--replicas={count}")
    for service in replicas:
        kubectl(stack, "rollout", "status", f"deployment/{service}", "--timeout=240s")


@pytest.fixture
def scaled(stack: Stack, endpoints: dict[str, str]) -> Iterator[Stack]:
    if endpoints.get("mode") != "cluster":
        pytest.skip("the services run as processes here: `make up MODE=cluster` (make test does)")
    scale(stack, REPLICAS)
    try:
        yield stack
    finally:
        scale(stack, dict.fromkeys(REPLICAS, 1))


@pytest.fixture
async def jetstream(mesh: ServiceSettings) -> AsyncIterator[Any]:
    connection = await nats.connect(mesh.nats_url, **connect_options(mesh))
    try:
        yield connection.jetstream()
    finally:
        await connection.close()


def one_step() -> dict[str, Any]:
    steps = (SimulatedStep("step", seconds=2, cpu_millicores=50, memory_mib=16),)
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


async def start_run(dev: AsyncSimpipe, project: str, run_id: str) -> None:
    """A one-step run on virtual nodes, named by the test."""
    await dev.graphql(
        CREATE,
        i={"projectId": project, "dryRunId": run_id, "placement": "VIRTUAL_NODES",
           "argoWorkflow": one_step()},
    )  # fmt: skip


@dataclass
class Load:
    runs: list[str] = field(default_factory=list)
    refused: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def create_runs(dev: AsyncSimpipe, project: str, load: Load) -> None:
    while not load.stop.is_set():
        run_id = f"scaled-{uuid.uuid4().hex[:8]}"
        try:
            await start_run(dev, project, run_id)
        except Exception:  # the replica that took it went: the user was told it failed
            load.refused += 1
        else:
            load.runs.append(run_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(load.stop.wait(), 1.0)


def leader(stack: Stack) -> list[str]:
    return [
        name
        for name, address in live_pods(stack, "argo-watcher").items()
        if metric(address, "argo-watcher", "simpipe_argo_watcher_leader") == 1.0
    ]


async def unsettled(js: Any, project: str, runs: list[str]) -> list[str]:
    """Runs without their terminal phase event or their report (yet)."""
    left = []
    for run in runs:
        phase = await last_event(
            js, events_pb2.DryRunPhaseChanged(owner=DEMO_USER, project_id=project, dry_run_id=run)
        )
        ready = await last_event(
            js, events_pb2.MetricsReady(owner=DEMO_USER, project_id=project, dry_run_id=run)
        )
        if not (
            isinstance(phase, events_pb2.DryRunPhaseChanged)
            and phase.phase in contract.TERMINAL_RUN_PHASES
            and ready is not None
        ):
            left.append(run)
    return left


@pytest.mark.timeout(900)
async def test_dry_runs_go_on_while_one_replica_of_each_service_is_deleted(
    scaled: Stack, dev: AsyncSimpipe, project: str, jetstream: Any
) -> None:
    stack = scaled
    (first_leader,) = leader(stack)
    load = Load()
    creating = asyncio.create_task(create_runs(dev, project, load))
    deleted: dict[str, str] = {}
    try:
        for service in REPLICAS:
            await asyncio.sleep(BETWEEN_DELETIONS_SECONDS)  # runs are created meanwhile
            victim = (
                first_leader if service == "argo-watcher" else sorted(live_pods(stack, service))[0]
            )
            await asyncio.to_thread(kubectl, stack, "delete", "pod", victim, "--wait=false")
            deleted[service] = victim
        await asyncio.sleep(BETWEEN_DELETIONS_SECONDS)
    finally:
        load.stop.set()
        await creating
    assert len(load.runs) >= 15, load
    deadline = time.monotonic() + SETTLE_SECONDS
    while left := await unsettled(jetstream, project, load.runs):
        assert time.monotonic() < deadline, f"{len(left)} runs unsettled: {left[:5]}"
        await asyncio.sleep(2)  # runs end and reports are written meanwhile
    doubled = {}
    for run in load.runs:
        phases = await stored_events(
            jetstream,
            contract.subject_of(
                events_pb2.DryRunPhaseChanged(owner=DEMO_USER, project_id=project, dry_run_id=run)
            ),
        )
        terminal = [e for e in phases if getattr(e, "phase", None) in contract.TERMINAL_RUN_PHASES]
        reports = await stored_events(
            jetstream,
            contract.subject_of(
                events_pb2.MetricsReady(owner=DEMO_USER, project_id=project, dry_run_id=run)
            ),
        )
        if len(terminal) != 1 or len(reports) != 1:
            doubled[run] = (len(terminal), len(reports))
    assert doubled == {}, "runs with other than one terminal event and one report"
    # The Lease moved: one watcher publishes, not the deleted one.
    deadline = time.monotonic() + 60
    while len(now := leader(stack)) != 1:
        assert time.monotonic() < deadline, f"leaders: {now}"
        await asyncio.sleep(1)
    assert now != [first_leader]
    written = {
        name: metric(address, "metrics-collector", "simpipe_metrics_collector_reports_written")
        for name, address in live_pods(stack, "metrics-collector").items()
    }
    print(
        f"\nscaled: {len(load.runs)} runs ({load.refused} refused) while deleting {deleted};"
        f" reports written by the collectors alive at the end: {written}"
    )


@pytest.mark.timeout(300)
async def test_every_gateway_replica_delivers_a_runs_updates(
    scaled: Stack, dev: AsyncSimpipe, project: str
) -> None:
    gateways = live_pods(scaled, "gateway")
    assert len(gateways) == REPLICAS["gateway"]
    token = scaled.secrets.api_tokens[DEMO_USER]
    clients = [
        AsyncSimpipe(f"http://{address}:8080/graphql", token) for address in gateways.values()
    ]
    run_id = f"fanout-{uuid.uuid4().hex[:8]}"
    updates = "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"

    async def follow(client: AsyncSimpipe) -> list[dict[str, str]]:
        return [u["dryRunUpdates"] async for u in client.subscribe(updates, id=run_id)]

    try:
        await start_run(dev, project, run_id)
        seen = await asyncio.gather(*(follow(c) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    for name, updates_seen in zip(gateways, seen, strict=True):
        assert updates_seen, name
        assert updates_seen[-1] == {"kind": "run", "phase": "Succeeded"}, (name, updates_seen)
