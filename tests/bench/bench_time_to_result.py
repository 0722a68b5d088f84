"""`make bench`: where a dry run's time goes, stage by stage.

The example pipeline runs on the real node through the path a user takes
(GraphQL createDryRun, then the dryRunUpdates subscription until the run's
last phase) and, in the same run, submitted straight to the Argo server
(hera, the same steps and placement; told by a watch of the Workflow).
A watch of the run's pods and of its Workflow notes when each stage is
first seen, with this machine's sub-second clock: pod created, scheduled,
sandbox ready (PodReadyToStartContainers), `main` started, `main` ended,
pod done, the next pod created, ..., the Workflow Succeeded, the client
told. "Own run time" is the `main` containers' started-to-finished, from
the pods' status (1 s resolution).

Three conditions: alone (the first run after a quiet moment), steady state
(SIMPIPE_BENCH_STEADY_RUNS back-to-back runs of each path, interleaved) and
right after a burst of short pods on the node. Figures, not assertions.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client, config, watch

from simpipe_client import AsyncSimpipe
from simpipe_devstack.cluster_policy import container_security_context, pod_security_context
from simpipe_devstack.components.cluster import KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    argo_service,
    on_nodes,
    real_pipeline,
)
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
from simpipe_devstack.runs import TERMINAL_PHASES, argo_token, seconds_between
from simpipe_devstack.stack import Stack

STEADY_RUNS = int(os.environ.get("SIMPIPE_BENCH_STEADY_RUNS", "10"))
BURST_PODS = 30
RUN_TIMEOUT = 240.0
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
UPDATES = """subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"""
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"


@dataclass
class PodSeen:
    """When our watch first saw each stage of one step's pod (time.time())."""

    created: float | None = None
    scheduled: float | None = None
    sandbox: float | None = None
    main_started: float | None = None
    main_ended: float | None = None
    done: float | None = None
    own: float = 0.0  # main's started-to-finished, from its status

    def stages(self) -> tuple[float, float, float, float, float, float] | None:
        """Every stage's time, once the watch has seen them all."""
        c, s, b, m, e, d = (
            self.created, self.scheduled, self.sandbox, self.main_started, self.main_ended,
            self.done,
        )  # fmt: skip
        if c is None or s is None or b is None or m is None or e is None or d is None:
            return None
        return c, s, b, m, e, d


@dataclass
class RunSeen:
    requested: float = 0.0
    workflow: float | None = None
    succeeded: float | None = None
    told: float | None = None
    phase: str = ""
    pods: dict[str, PodSeen] = field(default_factory=dict)
    # Notified by the watches after each change they note.
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)

    def note(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def ordered(self) -> list[PodSeen]:
        return sorted(self.pods.values(), key=lambda p: p.created or 0.0)

    @property
    def wall(self) -> float:
        return (self.told or 0.0) - self.requested

    @property
    def own(self) -> float:
        return sum(p.own for p in self.pods.values())


def _first(current: float | None, now: float) -> float:
    return current if current is not None else now


def _note_pod(seen: RunSeen, pod: dict[str, Any], now: float) -> None:
    metadata, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    p = seen.pods.setdefault(metadata["name"], PodSeen())
    p.created = _first(p.created, now)
    if spec.get("nodeName"):
        p.scheduled = _first(p.scheduled, now)
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    if conditions.get("PodReadyToStartContainers") == "True":
        p.sandbox = _first(p.sandbox, now)
    for container in status.get("containerStatuses") or []:
        if container["name"] != "main":
            continue
        state = container.get("state") or {}
        if "running" in state or "terminated" in state:
            p.main_started = _first(p.main_started, now)
        ended = state.get("terminated")
        if ended:
            p.main_ended = _first(p.main_ended, now)
            p.own = seconds_between(ended.get("startedAt"), ended.get("finishedAt")) or 0.0
    if status.get("phase") in ("Succeeded", "Failed"):
        p.done = _first(p.done, now)


@contextmanager
def watching(api: client.ApiClient, name: str) -> Iterator[RunSeen]:
    """Watches the run's pods and its Workflow (by name, before it exists)."""
    seen = RunSeen()
    stop = threading.Event()

    def pods() -> None:
        core = client.CoreV1Api(api)
        while not stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(
                core.list_namespaced_pod, WORKFLOW_NAMESPACE,
                label_selector=f"{WORKFLOW_LABEL}={name}", timeout_seconds=5,
            ):  # fmt: skip
                _note_pod(seen, api.sanitize_for_serialization(event["object"]), time.time())
                seen.note()
                if stop.is_set():
                    stream.stop()

    def workflow() -> None:
        custom = client.CustomObjectsApi(api)
        while not stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(
                custom.list_namespaced_custom_object, "argoproj.io", "v1alpha1",
                WORKFLOW_NAMESPACE, "workflows", field_selector=f"metadata.name={name}",
                timeout_seconds=5,
            ):  # fmt: skip
                now, found = time.time(), event["object"]
                seen.workflow = _first(seen.workflow, now)
                phase = (found.get("status") or {}).get("phase") or ""
                if phase in TERMINAL_PHASES:
                    seen.phase = phase
                    seen.succeeded = _first(seen.succeeded, now)
                seen.note()
                if stop.is_set():
                    stream.stop()

    threads = [threading.Thread(target=t, daemon=True) for t in (pods, workflow)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()


async def through_graphql(gql: AsyncSimpipe, api: client.ApiClient, project: str) -> RunSeen:
    name = f"ttr-gql-{uuid.uuid4().hex[:8]}"
    document = real_pipeline(EXAMPLE_REAL_STEPS, argo_service("http://unused")).to_dict()
    with watching(api, name) as seen:
        seen.requested = time.time()
        await gql.graphql(
            CREATE,
            i={"projectId": project, "dryRunId": name, "argoWorkflow": document,
               "placement": "REAL_NODES"},
        )  # fmt: skip
        async for data in gql.subscribe(UPDATES, id=name):
            update = data["dryRunUpdates"]
            if update["kind"] == "run" and update["phase"] in TERMINAL_PHASES:
                seen.told = time.time()
                break
        await _settled(seen)
    return seen


async def straight_to_argo(endpoints: dict[str, str], api: client.ApiClient) -> RunSeen:
    name = f"ttr-argo-{uuid.uuid4().hex[:8]}"
    service = argo_service(endpoints["argo_server"], argo_token(endpoints))
    workflow = on_nodes(real_pipeline(EXAMPLE_REAL_STEPS, service), REAL_NODE_KIND)
    workflow.name, workflow.generate_name = name, None
    with watching(api, name) as seen:
        seen.requested = time.time()
        await asyncio.to_thread(workflow.create)
        ended = await asyncio.to_thread(
            seen.wait_for, lambda: seen.succeeded is not None, RUN_TIMEOUT
        )
        assert ended, f"{name} did not finish"
        # Told by its watch, the moment the Workflow ended.
        seen.told = seen.succeeded
        await _settled(seen)
    return seen


async def _settled(seen: RunSeen) -> None:
    """Until the watches have the Workflow's end and each pod's (the
    subscriber may be told before our own watch sees the last change)."""
    await asyncio.to_thread(
        seen.wait_for,
        lambda: seen.succeeded is not None and all(p.done for p in seen.pods.values()),
        10,
    )


def stages(seen: RunSeen) -> dict[str, float]:
    """Seconds per stage, summed over the steps."""
    pods = seen.ordered()
    out: defaultdict[str, float] = defaultdict(float)
    first = pods[0].created if pods else None
    out["request -> Workflow object"] = (seen.workflow or seen.requested) - seen.requested
    out["Workflow -> first pod created"] = (first or 0.0) - (seen.workflow or 0.0)
    for i, p in enumerate(pods):
        times = p.stages()
        if times is None:
            continue
        created, scheduled, sandbox, started, ended, done = times
        out["created -> scheduled"] += scheduled - created
        out["scheduled -> sandbox ready"] += sandbox - scheduled
        out["sandbox -> main started (init)"] += started - sandbox
        out["main running (as watched)"] += ended - started
        out["main ended -> pod done (wait)"] += done - ended
        following = pods[i + 1].created if i + 1 < len(pods) else None
        if following is not None:
            out["pod done -> next pod created"] += following - done
    last = max((p.done or 0.0) for p in pods) if pods else 0.0
    out["last pod done -> Workflow ended"] = (seen.succeeded or last) - last
    out["Workflow ended -> client told"] = (seen.told or 0.0) - (seen.succeeded or 0.0)
    return dict(out)


def report(title: str, runs: dict[str, list[RunSeen]]) -> None:
    print(f"\n{title}")
    names = list(runs)
    header = "".join(f"{n:>16}" for n in names)
    print(f"  {'stage (s, median over runs)':<36}{header}")
    table = {n: [stages(r) for r in rs] for n, rs in runs.items()}
    keys = list(dict.fromkeys(k for rows in table.values() for row in rows for k in row))
    for key in keys:
        cells = "".join(
            f"{statistics.median(row.get(key, 0.0) for row in table[n]):>16.2f}" for n in names
        )
        print(f"  {key:<36}{cells}")
    totals: list[tuple[str, Callable[[RunSeen], float]]] = [
        ("wall (request -> told)", lambda r: r.wall),
        ("own run time (main containers)", lambda r: r.own),
        ("wall / own", lambda r: r.wall / r.own if r.own else float("nan")),
    ]
    for label, value in totals:
        cells = "".join(f"{statistics.median(value(r) for r in runs[n]):>16.2f}" for n in names)
        print(f"  {label:<36}{cells}")


def burst(core: client.CoreV1Api, count: int) -> None:
    """`count` one-second pods on the real node, created at once, until done and deleted."""
    label = f"ttr-burst-{uuid.uuid4().hex[:6]}"
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": f"{label}-", "labels": {"simpipe.io/bench": label}},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {KWOK_NODE_LABEL: REAL_NODE_KIND},
            "tolerations": [{**REAL_NODE_TAINT, "operator": "Equal"}],
            "securityContext": pod_security_context(),
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": STEP_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "1"],
                    "securityContext": container_security_context(),
                }
            ],
        },
    }
    for _ in range(count):
        core.create_namespaced_pod(WORKFLOW_NAMESPACE, body)  # type: ignore[arg-type]
    selector = f"simpipe.io/bench={label}"
    deadline = time.monotonic() + 180
    for event in watch.Watch().stream(
        core.list_namespaced_pod, WORKFLOW_NAMESPACE, label_selector=selector, timeout_seconds=180
    ):
        del event
        pods = core.list_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector).items
        if all(p.status and p.status.phase in ("Succeeded", "Failed") for p in pods):
            break
        assert time.monotonic() < deadline, "the burst's pods did not end"
    core.delete_collection_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector)


@pytest.mark.timeout(60 + int(RUN_TIMEOUT) * (4 + 2 * STEADY_RUNS))
async def test_dry_run_stage_by_stage_through_graphql_and_straight_to_argo(
    real_node: Stack, endpoints: dict[str, str], dev: AsyncSimpipe
) -> None:
    api = config.new_client_from_config(config_file=str(real_node.layout.kubeconfig))
    project = (
        await dev.graphql(
            "mutation($n: String!) { createProject(project: {name: $n}) { id } }",
            n="time to result",
        )
    )["createProject"]["id"]

    async def pair(graphql_first: bool) -> tuple[RunSeen, RunSeen]:
        if graphql_first:
            ours = await through_graphql(dev, api, project)
            return ours, await straight_to_argo(endpoints, api)
        raw = await straight_to_argo(endpoints, api)
        return await through_graphql(dev, api, project), raw

    try:
        ours, raw = await pair(graphql_first=True)
        report("example dry run on the real node, alone", {"GraphQL": [ours], "Argo direct": [raw]})
        steady: dict[str, list[RunSeen]] = {"GraphQL": [], "Argo direct": []}
        for i in range(STEADY_RUNS):
            ours, raw = await pair(graphql_first=i % 2 == 1)
            steady["GraphQL"].append(ours)
            steady["Argo direct"].append(raw)
        report(f"steady state: {STEADY_RUNS} runs of each, back to back", steady)
        await asyncio.to_thread(burst, client.CoreV1Api(api), BURST_PODS)
        ours, raw = await pair(graphql_first=True)
        report(
            f"right after a burst of {BURST_PODS} one-second pods",
            {"GraphQL": [ours], "Argo direct": [raw]},
        )
        everything = [*steady["GraphQL"], *steady["Argo direct"], ours, raw]
        assert all(r.phase == "Succeeded" for r in everything), [r.phase for r in everything]
    finally:
        await dev.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=project)
