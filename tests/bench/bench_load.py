"""Benchmark of the gateway under load (`make bench`): SUBSCRIBERS
subscriptions (graphql-transport-ws, each its own websocket) to one
project's dry runs while createDryRun is sent at CREATES_PER_SECOND for
LOAD_SECONDS, each run a 2 s step on the virtual (KWOK) nodes. Prints the
p50/p99 latency from a phase change as the argo-watcher stamped it
(`occurredAt`) to each subscriber, next to the same measured with one
subscriber and no other load in the same run, and the errors: creates
refused, subscriptions ended, updates missing. Loopback only, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client, config, watch

from simpipe_client import AsyncSimpipe
from simpipe_devstack.bench_stats import report
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import SIMULATION_NAMESPACE
from simpipe_devstack.stack import Stack

SUBSCRIBERS = 200
CREATES_PER_SECOND = 20
LOAD_SECONDS = 15.0
IDLE_RUNS = 5
UPDATES = """subscription($p: String!) { projectDryRunUpdates(projectId: $p) {
  dryRunId phase occurredAt } }"""
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"


def document() -> dict[str, Any]:
    steps = (SimulatedStep("step", seconds=2, cpu_millicores=10, memory_mib=8),)
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


class Subscriber:
    def __init__(self, gql: AsyncSimpipe, project: str) -> None:
        self.latencies: list[float] = []
        # When each (run, phase) update arrived, in order.
        self.arrived: dict[tuple[str, str], list[float]] = {}
        self.failed = ""
        self.task = asyncio.create_task(self._run(gql, project))

    @property
    def seen(self) -> set[tuple[str, str]]:
        return set(self.arrived)

    async def _run(self, gql: AsyncSimpipe, project: str) -> None:
        try:
            async for data in gql.subscribe(UPDATES, p=project):
                update = data["projectDryRunUpdates"]
                stamped = datetime.fromisoformat(update["occurredAt"]).timestamp()
                now = time.time()
                self.latencies.append(now - stamped)
                self.arrived.setdefault((update["dryRunId"], update["phase"]), []).append(now)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # counted: the benchmark says how many ended
            self.failed = repr(error)


async def create(gql: AsyncSimpipe, project: str, created: list[str]) -> bool:
    run_id = f"load-{uuid.uuid4().hex[:10]}"
    try:
        await gql.graphql(
            CREATE,
            i={
                "projectId": project,
                "dryRunId": run_id,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": document(),
            },
        )
    except Exception:  # counted as refused
        return False
    created.append(run_id)
    return True


async def subscribed(gql: AsyncSimpipe, project: str, subscribers: list[Subscriber]) -> str:
    """A run created and followed until every subscriber has seen it
    succeed: then each subscription is registered (the server says nothing
    when it is). The run's id."""
    warm_up: list[str] = []
    while not warm_up:
        await create(gql, project, warm_up)
    await until_succeeded(subscribers, warm_up, 120)
    return warm_up[0]


async def until_succeeded(subscribers: list[Subscriber], runs: list[str], seconds: float) -> None:
    """Until every subscriber saw every run succeed, or `seconds` passed."""
    wanted = {(run, "Succeeded") for run in runs}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            # Hundreds of subscribers' progress: looked at twice a second.
            while any(not wanted <= s.seen for s in subscribers if not s.failed):  # noqa: ASYNC110
                await asyncio.sleep(0.5)


@pytest.mark.timeout(600)
async def test_status_latency_with_200_subscribers_under_20_creates_per_second(
    stack: Stack, endpoints: dict[str, str], dev: AsyncSimpipe, project: str
) -> None:
    token = stack.secrets.api_tokens["local-dev"]
    # A subscription that drops ends (counted) rather than connecting again.
    clients = [
        AsyncSimpipe(endpoints["graphql"], token, reconnect_seconds=0) for _ in range(SUBSCRIBERS)
    ]
    created: list[str] = []
    try:
        # The same path with one subscriber and no load, first.
        alone = Subscriber(clients[0], project)
        created.append(await subscribed(dev, project, [alone]))
        alone.latencies.clear()
        idle_runs: list[str] = []
        for _ in range(IDLE_RUNS):
            await create(dev, project, idle_runs)
        await until_succeeded([alone], idle_runs, 120)
        alone.task.cancel()
        idle = list(alone.latencies)
        created += idle_runs

        subscribers = [Subscriber(c, project) for c in clients]
        created.append(await subscribed(dev, project, subscribers))
        for s in subscribers:
            s.latencies.clear()
        loaded_runs: list[str] = []
        started = time.monotonic()
        pending: set[asyncio.Task[bool]] = set()
        for i in range(int(LOAD_SECONDS * CREATES_PER_SECOND)):
            # Sent on the clock, not after the previous answer.
            await asyncio.sleep(max(0.0, started + i / CREATES_PER_SECOND - time.monotonic()))
            pending.add(asyncio.create_task(create(dev, project, loaded_runs)))
        results = await asyncio.gather(*pending)
        refused = results.count(False)
        sent_for = time.monotonic() - started
        created += loaded_runs
        await until_succeeded(subscribers, loaded_runs, 240)
        for s in subscribers:
            s.task.cancel()
        await asyncio.gather(*(s.task for s in subscribers), return_exceptions=True)
    finally:
        for run in created:
            with contextlib.suppress(Exception):
                await dev.graphql("mutation($r: String!) { deleteDryRun(dryRunId: $r) }", r=run)
        for c in clients:
            await c.aclose()
    latencies = [x for s in subscribers for x in s.latencies]
    ended = sum(1 for s in subscribers if s.failed)
    wanted = {(run, "Succeeded") for run in loaded_runs}
    missing = sum(len(wanted - s.seen) for s in subscribers if not s.failed)
    report(
        f"status to {SUBSCRIBERS} subscribers under {CREATES_PER_SECOND} createDryRun/s"
        " (occurredAt to subscriber)",
        latencies, idle, "1 subscriber, idle",
    )  # fmt: skip
    print(
        f"[bench] load: {len(loaded_runs)} runs created in {sent_for:.1f} s"
        f" ({len(loaded_runs) / sent_for:.1f}/s), {refused} refused;"
        f" {ended} subscriptions ended; {missing} Succeeded updates missing"
    )


# The load for status: phase changes, not creates. Runs that never
# end on their own (one 10-minute step on virtual nodes), each suspended and
# resumed in turn by patching its Workflow, as `argo suspend` does.
TOGGLED_RUNS = 20
PHASE_CHANGES_PER_SECOND = 20
TOGGLE_SECONDS = 15.0


def raw_watch(
    api: client.CustomObjectsApi, runs: set[str], seen: dict[tuple[str, str], list[float]],
    listening: threading.Event, stop: threading.Event,
) -> None:  # fmt: skip
    """A raw Kubernetes watch of the same Workflows: when each suspend or
    resume was first seen (the anchor). `listening` is set once the watch
    has delivered every run as it is (its first events)."""
    last: dict[str, bool] = {}
    stream = watch.Watch()
    for event in stream.stream(
        api.list_namespaced_custom_object, "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE,
        "workflows", timeout_seconds=int(TOGGLE_SECONDS) + 120,
    ):  # fmt: skip
        found = event["object"]
        name = found["metadata"]["name"]
        suspended = bool((found.get("spec") or {}).get("suspend"))
        if name in runs and last.get(name) != suspended:
            if name in last:
                phase = "Suspended" if suspended else "Running"
                seen.setdefault((name, phase), []).append(time.time())
            last[name] = suspended
        if runs <= set(last):
            listening.set()
        if stop.is_set():
            stream.stop()


async def settled(stack: Stack, seconds: int = 300) -> None:
    """Until the simulations' namespace has no pods left (an earlier
    benchmark's runs, deleted, take their pods with them a while later): the
    load below is measured on a quiet stack, not beside that clean-up."""
    core = client.CoreV1Api(config.new_client_from_config(str(stack.layout.kubeconfig)))

    def until_none() -> None:
        listed: Any = core.list_namespaced_pod(SIMULATION_NAMESPACE)
        left = {pod.metadata.name for pod in listed.items}
        if not left:
            return
        for event in watch.Watch().stream(
            core.list_namespaced_pod, SIMULATION_NAMESPACE,
            resource_version=listed.metadata.resource_version, timeout_seconds=seconds,
        ):  # fmt: skip
            name = event["object"].metadata.name
            if event["type"] == "DELETED":
                left.discard(name)
            else:
                left.add(name)
            if not left:
                return
        raise TimeoutError(f"{len(left)} pods still in {SIMULATION_NAMESPACE} after {seconds} s")

    await asyncio.to_thread(until_none)


def matched(
    written: dict[tuple[str, str], list[float]], arrived: dict[tuple[str, str], list[float]]
) -> tuple[list[float], int]:
    """Latencies of the n-th arrival of each (run, phase) after its n-th
    write; how many writes had no arrival."""
    latencies: list[float] = []
    missing = 0
    for key, writes in written.items():
        got = arrived.get(key, [])
        latencies += [a - w for w, a in zip(writes, got, strict=False)]
        missing += max(0, len(writes) - len(got))
    return latencies, missing


@pytest.mark.timeout(900)
async def test_status_latency_with_200_subscribers_and_20_phase_changes_per_second(
    stack: Stack, endpoints: dict[str, str], dev: AsyncSimpipe, project: str
) -> None:
    await settled(stack)
    api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
    token = stack.secrets.api_tokens["local-dev"]
    # A subscription that drops ends (counted) rather than connecting again.
    clients = [
        AsyncSimpipe(endpoints["graphql"], token, reconnect_seconds=0) for _ in range(SUBSCRIBERS)
    ]
    steps = (SimulatedStep("hold", seconds=600, cpu_millicores=10, memory_mib=8),)
    runs: list[str] = []
    warm_up: list[str] = []
    stop = threading.Event()
    try:
        subscribers = [Subscriber(c, project) for c in clients]
        # Each subscription registered first (it sees only what comes after).
        warm_up.append(await subscribed(dev, project, subscribers))
        for _ in range(TOGGLED_RUNS):
            run_id = f"toggle-{uuid.uuid4().hex[:8]}"
            document = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
            await dev.graphql(
                CREATE,
                i={"projectId": project, "dryRunId": run_id, "placement": "VIRTUAL_NODES",
                   "argoWorkflow": document},
            )  # fmt: skip
            runs.append(run_id)
        # Every run Running, as every subscriber saw, before the load.
        running = {(run, "Running") for run in runs}
        async with asyncio.timeout(180):
            while any(not running <= set(s.arrived) for s in subscribers if not s.failed):  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        for s in subscribers:
            s.arrived.clear()
        raw_seen: dict[tuple[str, str], list[float]] = {}
        listening = threading.Event()
        watcher = threading.Thread(
            target=raw_watch, args=(api, set(runs), raw_seen, listening, stop), daemon=True
        )
        watcher.start()
        assert await asyncio.to_thread(listening.wait, 30), "the raw watch did not start"
        written: dict[tuple[str, str], list[float]] = {}
        started = time.monotonic()
        changes = int(TOGGLE_SECONDS * PHASE_CHANGES_PER_SECOND)
        for i in range(changes):
            # On the clock, not after the previous answer.
            await asyncio.sleep(max(0.0, started + i / PHASE_CHANGES_PER_SECOND - time.monotonic()))
            run, suspend = runs[i % TOGGLED_RUNS], (i // TOGGLED_RUNS) % 2 == 0
            written.setdefault((run, "Suspended" if suspend else "Running"), []).append(time.time())
            await asyncio.to_thread(
                api.patch_namespaced_custom_object, "argoproj.io", "v1alpha1",
                SIMULATION_NAMESPACE, "workflows", run, {"spec": {"suspend": suspend}},
            )  # fmt: skip
        sent_for = time.monotonic() - started
        # Until every subscriber has every change, or a minute has passed.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while any(matched(written, s.arrived)[1] for s in subscribers if not s.failed):  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
        for s in subscribers:
            s.task.cancel()
        await asyncio.gather(*(s.task for s in subscribers), return_exceptions=True)
    finally:
        stop.set()
        for run in [*runs, *warm_up]:
            with contextlib.suppress(Exception):
                await dev.graphql("mutation($r: String!) { deleteDryRun(dryRunId: $r) }", r=run)
        for c in clients:
            await c.aclose()
    ours: list[float] = []
    missing = 0
    for s in subscribers:
        latencies, lost = matched(written, s.arrived)
        ours += latencies
        missing += lost if not s.failed else 0
    raw, raw_missing = matched(written, raw_seen)
    report(
        f"status to {SUBSCRIBERS} subscribers, {PHASE_CHANGES_PER_SECOND} phase changes/s"
        " (write to subscriber)",
        ours, raw, "raw kube watch (write to watch event)",
    )  # fmt: skip
    ended = sum(1 for s in subscribers if s.failed)
    print(
        f"[bench] phase load: {changes} changes written in {sent_for:.1f} s;"
        f" {ended} subscriptions ended; {missing} updates missing ({raw_missing} on the raw watch)"
    )
    assert ours, "no subscriber received any change"
