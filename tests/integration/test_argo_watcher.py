"""argo-watcher against the running local stack: a labelled Workflow created
through the Kubernetes API runs on KWOK nodes; the watcher serves it over gRPC
to its owner only, streams its changes, and publishes its run and step phases
to JetStream, without losing a terminal phase across a crash of the watcher.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import nats
import pytest
from kubernetes import client, config
from nats.aio.client import Client as Nats
from nats.js.api import DeliverPolicy

from simpipe.v1 import argo_watcher_pb2 as pb
from simpipe.v1 import argo_watcher_pb2_grpc, events_pb2
from simpipe_common.nats_auth import connect_options
from simpipe_common.ownership import stamp
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.components import Component
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.runs import pods_by_node_id
from simpipe_devstack.stack import Stack
from simpipe_events import contract

STEPS = (
    SimulatedStep("fetch", seconds=2, cpu_millicores=100, memory_mib=32),
    SimulatedStep("crunch", seconds=4, cpu_millicores=500, memory_mib=64),
    SimulatedStep("report", seconds=2, cpu_millicores=100, memory_mib=32),
)
PROJECT = "watcher-it"
RUN_ORDER = [
    events_pb2.DRY_RUN_PHASE_PENDING,
    events_pb2.DRY_RUN_PHASE_RUNNING,
    events_pb2.DRY_RUN_PHASE_SUCCEEDED,
]
STEP_ORDER = [
    events_pb2.NODE_PHASE_PENDING,
    events_pb2.NODE_PHASE_RUNNING,
    events_pb2.NODE_PHASE_SUCCEEDED,
]
RUN_PHASES = contract.event_type(events_pb2.DryRunPhaseChanged)
STEP_PHASES = contract.event_type(events_pb2.StepPhaseChanged)


def owner() -> str:
    return f"it-{uuid.uuid4().hex[:8]}@example.org"


def workflows(stack: Stack) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(
        config.new_client_from_config(config_file=str(stack.layout.kubeconfig))
    )


def create_workflow(stack: Stack, endpoints: dict[str, str], owner: str, prefix: str) -> str:
    """Directly through the Kubernetes API, labelled as the submitter labels its runs."""
    workflow = simulated_pipeline(STEPS, argo_service(endpoints["argo_server"]), prefix).to_dict()
    stamp(workflow["metadata"], owner, PROJECT)
    created: Any = workflows(stack).create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", WORKFLOW_NAMESPACE, "workflows", workflow
    )
    return str(created["metadata"]["name"])


def workflow_phase(stack: Stack, name: str) -> int:
    found: Any = workflows(stack).get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", WORKFLOW_NAMESPACE, "workflows", name
    )
    return contract.run_phase_of_name(str((found.get("status") or {}).get("phase") or "Pending"))


@pytest.fixture
async def jetstream(endpoints: dict[str, str], mesh: ServiceSettings) -> AsyncIterator[Nats]:
    connection = await nats.connect(endpoints["nats"], **connect_options(mesh))
    yield connection
    await connection.close()


async def published(
    connection: Nats, subjects: str, until: Any = None, wait_seconds: float = 60
) -> list[tuple[str, Any]]:
    """Every event `subjects` (a filter) matches in stream order, as (event id,
    payload); reads until `until(events)` holds, or what there is when it is None."""
    js = connection.jetstream()
    subscription = await js.subscribe(
        subjects, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    events: list[tuple[str, Any]] = []
    deadline = time.monotonic() + wait_seconds
    try:
        while time.monotonic() < deadline:
            try:
                message = await subscription.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                if until is None:
                    break
                continue
            payload: Any = contract.decode(message.subject, message.data)
            event_id = (message.headers or {})[contract.MSG_ID_HEADER]
            assert event_id == payload.meta.event_id
            events.append((event_id, payload))
            if until is not None and until(events):
                break
    finally:
        await subscription.unsubscribe()
    return events


async def until_known(
    watcher: argo_watcher_pb2_grpc.ArgoWatcherAsyncStub, request: pb.GetDryRunRequest
) -> None:
    for _ in range(50):
        try:
            await watcher.GetDryRun(request)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.1)
        else:
            return
    raise AssertionError(f"the watcher never saw {request.dry_run_id}")


def ends(events: list[tuple[str, Any]]) -> bool:
    return bool(events) and events[-1][1].phase in contract.TERMINAL_RUN_PHASES


def in_order(phases: Sequence[int], order: Sequence[int]) -> bool:
    ranks = [order.index(phase) for phase in phases]
    return ranks == sorted(ranks)


@pytest.mark.timeout(150)
async def test_a_run_is_served_to_its_owner_streamed_and_published(
    stack: Stack,
    endpoints: dict[str, str],
    watcher: argo_watcher_pb2_grpc.ArgoWatcherAsyncStub,
    jetstream: Nats,
) -> None:
    alice = owner()
    name = create_workflow(stack, endpoints, alice, "watcher-it-")

    # The watch starts once the watcher knows the run, and ends with the run.
    request = pb.GetDryRunRequest(caller=alice, dry_run_id=name)
    await until_known(watcher, request)
    streamed = [dry_run async for dry_run in watcher.WatchDryRun(request, timeout=120)]
    phases = [d.status.phase for d in streamed]
    names = [contract.run_phase_name(phase) for phase in phases]
    assert phases[-1] == events_pb2.DRY_RUN_PHASE_SUCCEEDED, names
    assert in_order(phases, RUN_ORDER), names
    assert [d.status.progress for d in streamed][-1] == "3/3"

    # List and get: the owner sees the run and its steps, another caller does not.
    listed = await watcher.ListDryRuns(pb.ListDryRunsRequest(caller=alice))
    assert [d.id for d in listed.dry_runs] == [name]
    got = await watcher.GetDryRun(pb.GetDryRunRequest(caller=alice, dry_run_id=name))
    assert (got.project_id, got.owner, got.archived) == (PROJECT, alice, False)
    steps = {n.display_name: n for n in got.nodes if n.type == "Pod"}
    assert sorted(steps) == sorted(s.name for s in STEPS)
    pods = pods_by_node_id(str(stack.layout.kubeconfig), name)
    for step in STEPS:
        node = steps[step.name]
        assert node.phase == events_pb2.NODE_PHASE_SUCCEEDED
        assert node.exit_code == "0"
        assert abs(node.duration_seconds - step.seconds) <= 1
        assert node.pod_name == pods[node.id]  # computed like Argo names the pods
    bob = owner()
    assert list((await watcher.ListDryRuns(pb.ListDryRunsRequest(caller=bob))).dry_runs) == []
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await watcher.GetDryRun(pb.GetDryRunRequest(caller=bob, dry_run_id=name))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    archived = await watcher.ListDryRuns(pb.ListDryRunsRequest(caller=alice, include_archived=True))
    assert [d.id for d in archived.dry_runs] == [name]  # the archived copy is not listed twice

    # JetStream: each run phase change once and in order, each step's phases in order.
    runs = await published(
        jetstream, RUN_PHASES.filter(owner=alice, project=PROJECT, run=name), until=ends
    )
    states = [(event.phase, event.progress) for _, event in runs]
    assert states[-1] == (events_pb2.DRY_RUN_PHASE_SUCCEEDED, "3/3")
    assert len(set(states)) == len(states)
    assert in_order([phase for phase, _ in states], RUN_ORDER)
    running = [progress for phase, progress in states if phase == events_pb2.DRY_RUN_PHASE_RUNNING]
    assert running[-1] == "2/3"
    assert {(e.owner, e.uid, e.dry_run_id) for _, e in runs} == {(alice, got.uid, name)}
    step_events = await published(
        jetstream, STEP_PHASES.filter(owner=alice, project=PROJECT, run=name)
    )
    assert {(e.owner, e.uid) for _, e in step_events} == {(alice, got.uid)}
    for step in STEPS:
        seen = [e.phase for _, e in step_events if e.node_id == steps[step.name].id]
        names = [contract.node_phase_name(phase) for phase in seen]
        assert seen[-1] == events_pb2.NODE_PHASE_SUCCEEDED, (step.name, names)
        assert in_order(seen, STEP_ORDER), (step.name, names)
        assert len(set(seen)) == len(seen), (step.name, names)

    # KWOK's simulated pods have no logs: a typed error naming the pod and the
    # apiserver's reason (which depends on how KWOK is set up: "no logs found
    # for container", or no address to reach the fake node's kubelet).
    with pytest.raises(grpc.aio.AioRpcError) as no_logs:
        await watcher.GetStepLog(
            pb.GetStepLogRequest(caller=alice, dry_run_id=name, node_id=steps["crunch"].id)
        )
    assert no_logs.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"the log of pod {steps['crunch'].pod_name} cannot be read: HTTP " in (
        no_logs.value.details() or ""
    )

    # Once the Workflow object is deleted, the run is read from Argo's archive.
    workflows(stack).delete_namespaced_custom_object(
        "argoproj.io", "v1alpha1", WORKFLOW_NAMESPACE, "workflows", name
    )
    for _ in range(100):
        got = await watcher.GetDryRun(pb.GetDryRunRequest(caller=alice, dry_run_id=name))
        if got.archived:
            break
        await asyncio.sleep(0.1)
    assert got.archived
    assert got.status.phase == events_pb2.DRY_RUN_PHASE_SUCCEEDED
    assert sorted(n.display_name for n in got.nodes if n.type == "Pod") == sorted(steps)
    with pytest.raises(grpc.aio.AioRpcError) as still_hidden:
        await watcher.GetDryRun(pb.GetDryRunRequest(caller=bob, dry_run_id=name))
    assert still_hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_malformed_ids_are_invalid_arguments(
    watcher: argo_watcher_pb2_grpc.ArgoWatcherAsyncStub,
) -> None:
    for call in (
        watcher.GetDryRun(pb.GetDryRunRequest(caller="alice", dry_run_id="Bad_Id")),
        watcher.GetStepLog(pb.GetStepLogRequest(caller="alice", dry_run_id="run", node_id="run.>")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await call
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.timeout(180)
async def test_a_killed_watcher_loses_no_terminal_phase(
    stack: Stack,
    endpoints: dict[str, str],
    jetstream: Nats,
    crash: Callable[[Component], None],
) -> None:
    alice = owner()
    name = create_workflow(stack, endpoints, alice, "watcher-kill-")
    subjects = RUN_PHASES.filter(owner=alice, project=PROJECT, run=name)
    # Mid-run: the first phase event is out, the run is still going.
    before = await published(jetstream, subjects, until=lambda events: len(events) >= 1)
    assert before
    assert before[-1][1].phase not in contract.TERMINAL_RUN_PHASES

    component = stack.component("argo-watcher")
    await asyncio.to_thread(crash, component)

    # The run ends while no watcher runs.
    deadline = time.monotonic() + 90
    while workflow_phase(stack, name) not in contract.TERMINAL_RUN_PHASES:
        assert time.monotonic() < deadline, "the run did not end"
        await asyncio.sleep(0.5)
    component.start(stack)

    # The new watcher takes the Lease once the killed one's expires, then
    # publishes what it missed: the terminal phase, once.
    runs = await published(jetstream, subjects, until=ends, wait_seconds=90)
    assert [e.phase for _, e in runs].count(events_pb2.DRY_RUN_PHASE_SUCCEEDED) == 1
    assert runs[-1][1].phase == events_pb2.DRY_RUN_PHASE_SUCCEEDED
    ids = [event_id for event_id, _ in runs]
    assert len(set(ids)) == len(ids)
    steps = await published(jetstream, STEP_PHASES.filter(owner=alice, project=PROJECT, run=name))
    finished = [e for _, e in steps if e.phase == events_pb2.NODE_PHASE_SUCCEEDED]
    assert sorted(e.display_name for e in finished) == sorted(s.name for s in STEPS)
