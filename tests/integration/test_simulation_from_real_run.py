"""A simulation whose timing is a real dry run of the example pipeline (the
one `make demo` runs): the pipeline runs for real on the stack's real node
(kubelet + containerd), the metrics-collector writes its run report, then
the kwok-scaler plays the same WorkflowTemplate on a virtual cluster of its
own from that report. The simulated steps are the ones that ran, each lasts
its measured duration, the chain's makespan is the sum of its steps, the
outputs the next steps read are the ones the real run recorded, and
CompareSimulations puts both side by side.

Skipped (with the reason) only where this machine cannot run containers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import grpc
import pytest
from kubernetes import client

from simpipe.v1 import (
    argo_watcher_pb2,
    argo_watcher_pb2_grpc,
    dry_runs_pb2,
    events_pb2,
    kwok_scaler_pb2_grpc,
    metrics_collector_pb2,
    metrics_collector_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe.v1 import workflow_submitter_pb2 as sub
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.example_pipeline import EXAMPLE_REAL_STEPS, argo_service, real_pipeline
from simpipe_devstack.stack import Stack

T = TypeVar("T")
CALL_TIMEOUT = 60.0
# The bound between simulated and measured times.
TOLERANCE = 0.05
# The real run: three steps of a few seconds each, their pods' start and
# artifact transfers through S3, then the report's last scrape.
REAL_RUN_LIMIT = 240.0
SIMULATION_LIMIT = 180.0
# A few seconds on an idle stack; KWOK serves every virtual node of the
# shared stack, so a big simulation running beside this test slows it.
CLUSTER_READY_LIMIT = 120.0
TERMINAL = (
    events_pb2.SIMULATION_PHASE_SUCCEEDED,
    events_pb2.SIMULATION_PHASE_FAILED,
    events_pb2.SIMULATION_PHASE_CANCELLED,
    events_pb2.SIMULATION_PHASE_ERROR,
)
# What argoexec archives of every step when the artifact repository keeps
# logs: the executor's doing, not an output of the template.
LOGS_ARTIFACT = "main-logs"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def within(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return math.isclose(value, expected, rel_tol=tolerance)


async def answered(call: Callable[[], Awaitable[T]], limit: float = 60.0) -> T:
    """A call's answer, asked again while its service is briefly unreachable
    (services of the shared stack are restarted by whoever changed them)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def found_or_none(call: Callable[[], Awaitable[T]]) -> T | None:
    try:
        return await answered(call)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None


@dataclass
class Clients:
    owner: str
    submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub
    watcher: argo_watcher_pb2_grpc.ArgoWatcherAsyncStub
    project_id: str = ""
    # What the test made in the scaler, deleted after it.
    clusters: list[str] = field(default_factory=list)
    simulations: list[str] = field(default_factory=list)


@pytest.fixture
async def mesh_clients(
    endpoints: dict[str, str],
    mesh: ServiceSettings,
    submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub,
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
) -> AsyncIterator[Clients]:
    """The services' gRPC APIs as one fresh owner of a fresh project; the
    project (its template and runs) is deleted after the test."""
    async with (
        mesh_channel(endpoints["metrics-collector_grpc"], mesh) as collector_channel,
        mesh_channel(endpoints["argo-watcher_grpc"], mesh) as watcher_channel,
    ):
        clients = Clients(
            owner=unique("real-sim-tester"),
            submitter=submitter,
            scaler=scaler,
            collector=metrics_collector_pb2_grpc.MetricsCollectorStub(collector_channel),
            watcher=argo_watcher_pb2_grpc.ArgoWatcherStub(watcher_channel),
        )
        project = await submitter.CreateProject(
            sub.CreateProjectRequest(caller=clients.owner, name=unique("real-simulation")),
            timeout=CALL_TIMEOUT,
        )
        clients.project_id = project.id
        yield clients
        for simulation in clients.simulations:
            ref = pb.SimulationRef(caller=clients.owner, id=simulation)
            await found_or_none(partial(scaler.DeleteSimulation, ref, timeout=CALL_TIMEOUT))
        for cluster in clients.clusters:
            cluster_ref = pb.VirtualClusterRef(caller=clients.owner, id=cluster)
            await found_or_none(
                partial(scaler.DeleteVirtualCluster, cluster_ref, timeout=CALL_TIMEOUT)
            )
        await found_or_none(
            lambda: submitter.DeleteProject(
                sub.ProjectRef(caller=clients.owner, project_id=project.id), timeout=CALL_TIMEOUT
            )
        )


async def example_template(clients: Clients) -> str:
    """The example pipeline `make demo` runs for real, as a WorkflowTemplate
    of the project: the reference run and the simulation play the same one."""
    document = real_pipeline(EXAMPLE_REAL_STEPS, argo_service("http://unused")).to_dict()
    name = unique("real-example")
    document["kind"] = "WorkflowTemplate"
    document["metadata"] = {"name": name}
    await clients.submitter.CreateWorkflowTemplate(
        sub.WorkflowTemplateRequest(
            caller=clients.owner, project_id=clients.project_id, document=json.dumps(document)
        ),
        timeout=CALL_TIMEOUT,
    )
    return name


async def real_reference_run(clients: Clients, template: str) -> metrics_collector_pb2.RunReport:
    """A dry run of the template on the real node, once the
    metrics-collector has written its run report."""
    run = unique("real-reference")
    await clients.submitter.CreateDryRun(
        sub.CreateDryRunRequest(
            caller=clients.owner, project_id=clients.project_id, dry_run_id=run,
            workflow_template_name=template, placement=sub.Placement(nodes=sub.NODES_REAL),
        ),
        timeout=CALL_TIMEOUT,
    )  # fmt: skip
    ref = metrics_collector_pb2.DryRunMetricsRef(caller=clients.owner, dry_run_id=run)
    deadline = time.monotonic() + REAL_RUN_LIMIT
    while True:
        report = await found_or_none(
            lambda: clients.collector.GetRunReport(ref, timeout=CALL_TIMEOUT)
        )
        if report is not None:
            return report
        assert time.monotonic() < deadline, f"no run report of {run} after {REAL_RUN_LIMIT} s"
        await asyncio.sleep(1.0)


async def dry_run(clients: Clients, dry_run_id: str) -> dry_runs_pb2.DryRun:
    found: dry_runs_pb2.DryRun = await answered(
        lambda: clients.watcher.GetDryRun(
            argo_watcher_pb2.GetDryRunRequest(caller=clients.owner, dry_run_id=dry_run_id),
            timeout=CALL_TIMEOUT,
        )
    )
    return found


async def virtual_cluster(clients: Clients, kube: client.ApiClient) -> str:
    """A virtual cluster of the owner's, roomy enough that no step of the
    chain waits for a node, once its nodes are Ready and untainted."""
    cluster = unique("vc")
    clients.clusters.append(cluster)
    request = pb.CreateVirtualClusterRequest(
        caller=clients.owner,
        id=cluster,
        pools=[pb.NodePool(name="roomy", count=2, cpu="4", memory="8Gi", pods=4)],
    )
    # UNAVAILABLE: the scaler was not reached (restarted), so asked again.
    await answered(partial(clients.scaler.CreateVirtualCluster, request, timeout=CALL_TIMEOUT))
    deadline = time.monotonic() + CLUSTER_READY_LIMIT
    while True:
        found = await answered(
            lambda: clients.scaler.GetVirtualCluster(
                pb.VirtualClusterRef(caller=clients.owner, id=cluster), timeout=CALL_TIMEOUT
            )
        )
        if sum(p.ready for p in found.pools) == 2 and not await asyncio.to_thread(
            still_tainted, kube, cluster
        ):
            return cluster
        assert time.monotonic() < deadline, f"virtual cluster {cluster} not ready: {found}"
        await asyncio.sleep(0.2)


def still_tainted(kube: client.ApiClient, cluster: str) -> list[str]:
    """The cluster's nodes the node controller still marks not ready (the
    scheduler would leave a step pending on them)."""
    answer: Any = client.CoreV1Api(kube).list_node(
        label_selector=f"simpipe.io/virtual-cluster={cluster}", _preload_content=False
    )
    nodes: list[dict[str, Any]] = json.loads(answer.data)["items"]
    return [
        str(n["metadata"]["name"])
        for n in nodes
        if any(
            t["key"].startswith("node.kubernetes.io/")
            for t in (n.get("spec") or {}).get("taints") or ()
        )
    ]


async def ended(clients: Clients, simulation_id: str) -> pb.Simulation:
    """The simulation once it ended (its phase polled, bounded)."""
    ref = pb.SimulationRef(caller=clients.owner, id=simulation_id)
    deadline = time.monotonic() + SIMULATION_LIMIT
    while True:
        found: pb.Simulation = await answered(
            lambda: clients.scaler.GetSimulation(ref, timeout=CALL_TIMEOUT)
        )
        if found.phase in TERMINAL:
            return found
        assert time.monotonic() < deadline, f"simulation {simulation_id} did not end: {found}"
        await asyncio.sleep(0.5)


def step_outputs(run: dry_runs_pb2.DryRun) -> dict[str, dict[str, Any]]:
    """Each step's (display name) outputs as Argo recorded them: parameter
    values from the Workflow's status, and the names of its input and output
    artifacts (their keys differ between runs)."""
    workflow = json.loads(run.argo_workflow_json or "{}")
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    found: dict[str, dict[str, Any]] = {}
    for node in run.nodes:
        if node.type != "Pod":
            continue
        outputs = (nodes.get(node.id) or {}).get("outputs") or {}
        found[node.display_name] = {
            "parameters": {
                str(p["name"]): str(p.get("value")) for p in outputs.get("parameters") or ()
            },
            "outputs": sorted(a.name for a in node.output_artifacts if a.name != LOGS_ARTIFACT),
            "inputs": sorted(a.name for a in node.input_artifacts),
        }
    return found


def unresolved_inputs(run: dry_runs_pb2.DryRun) -> list[str]:
    """The input artifacts of the run's steps that are not an output an
    earlier step of the run recorded (same name, same S3 key)."""
    saved = {
        (a.name, a.key) for n in run.nodes if n.type == "Pod" for a in n.output_artifacts if a.key
    }
    return [
        f"{n.display_name}: {a.name} at {a.key!r}"
        for n in run.nodes
        if n.type == "Pod"
        for a in n.input_artifacts
        if (a.name, a.key) not in saved
    ]


def templates(run: dry_runs_pb2.DryRun) -> dict[str, str]:
    """Pod node id -> template name."""
    return {n.id: n.template_name for n in run.nodes if n.type == "Pod"}


def measured_seconds(
    report: metrics_collector_pb2.RunReport, by_node: Mapping[str, str]
) -> dict[str, float]:
    """Each template's measured duration in the run report (one pod each)."""
    found: dict[str, float] = {}
    for step in report.summary.steps:
        template = by_node[step.node_id]
        assert template not in found, f"{template} ran twice in the reference run"
        found[template] = step.summary.duration_seconds
    return found


@pytest.mark.timeout(600)
async def test_a_simulation_from_a_real_run_of_the_example_plays_its_measured_steps(
    real_node: Stack, mesh_clients: Clients, kube: client.ApiClient
) -> None:
    clients = mesh_clients
    template = await example_template(clients)
    # The cluster is made while the pipeline runs for real.
    reference, cluster = await asyncio.gather(
        real_reference_run(clients, template), virtual_cluster(clients, kube)
    )
    assert reference.phase == "Succeeded", reference.phase
    real = await dry_run(clients, reference.dry_run_id)
    measured = measured_seconds(reference, templates(real))
    assert set(measured) == {step.name for step in EXAMPLE_REAL_STEPS}, measured
    assert all(seconds > 0 for seconds in measured.values()), measured

    simulation_id = unique("sim")
    clients.simulations.append(simulation_id)
    start = pb.StartSimulationRequest(
        caller=clients.owner, simulation_id=simulation_id, project_id=clients.project_id,
        workflow_template_name=template, virtual_cluster_id=cluster,
        timing=pb.TimingSource(reference_dry_run_id=reference.dry_run_id),
    )  # fmt: skip
    started = await answered(partial(clients.scaler.StartSimulation, start, timeout=CALL_TIMEOUT))
    await check_simulation(clients, started, reference, real, measured)


async def check_simulation(
    clients: Clients,
    started: pb.Simulation,
    reference: metrics_collector_pb2.RunReport,
    real: dry_runs_pb2.DryRun,
    measured: Mapping[str, float],
) -> None:
    finished = await ended(clients, started.id)
    assert finished.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED, finished.message
    report: pb.SimulationReport = await answered(
        lambda: clients.scaler.GetSimulationReport(
            pb.SimulationRef(caller=clients.owner, id=started.id), timeout=CALL_TIMEOUT
        )
    )
    print(
        f"\nreference {reference.dry_run_id}: measured {measured}, run"
        f" {reference.summary.run.duration_seconds:.2f} s; simulated: "
        + ", ".join(f"{s.template_name} {s.run_seconds:.2f} s" for s in report.steps)
        + f"; makespan {report.makespan_seconds:.2f} s,"
        f" overhead {report.orchestration_overhead_seconds:.2f} s"
    )
    # The same steps ran, under the same names, each once and to the end.
    simulated = {s.template_name: s for s in report.steps}
    assert len(simulated) == len(report.steps) == len(measured), list(report.steps)
    assert set(simulated) == set(measured)
    assert {s.display_name for s in report.steps} == {
        n.display_name for n in real.nodes if n.type == "Pod"
    }
    assert all(s.phase == "Succeeded" for s in report.steps), list(report.steps)
    for name, step in simulated.items():
        assert within(step.run_seconds, measured[name]), (name, step.run_seconds, measured)
        # A roomy cluster: no step waits for a node.
        assert step.queued_seconds == pytest.approx(0.0, abs=0.5), (name, step.queued_seconds)
    # The example is a chain (each step reads the previous one's file): the
    # makespan is the sum of its steps. The real run's own duration also
    # holds Argo's gaps between steps, which the simulation reports apart.
    assert within(report.makespan_seconds, sum(measured.values())), (
        report.makespan_seconds,
        measured,
    )
    order = sorted(report.steps, key=lambda s: s.started_seconds)
    assert [s.template_name for s in order] == [step.name for step in EXAMPLE_REAL_STEPS]
    for before, after in itertools.pairwise(order):
        assert after.started_seconds >= before.finished_seconds - 1e-6, (before, after)

    # Outputs: the example's steps have no output parameters (they pass
    # files, as Argo artifacts through S3), so what later steps read is
    # their output artifacts. The simulated run records the same ones, and
    # each step's inputs resolved to them, as in the real run; a parameter
    # the example gained would be compared here too.
    [simulated_run_id] = finished.dry_run_ids
    simulated_run = await dry_run(clients, simulated_run_id)
    real_outputs = step_outputs(real)
    assert any(o["outputs"] for o in real_outputs.values()), real_outputs
    assert step_outputs(simulated_run) == real_outputs
    assert unresolved_inputs(real) == unresolved_inputs(simulated_run) == []

    comparison = await answered(
        lambda: clients.scaler.CompareSimulations(
            pb.CompareSimulationsRequest(
                caller=clients.owner,
                simulation_id=started.id,
                reference_dry_run_id=reference.dry_run_id,
            ),
            timeout=CALL_TIMEOUT,
        )
    )
    assert (comparison.a, comparison.b) == (started.id, reference.dry_run_id)
    assert {c.step for c in comparison.steps} == set(measured)
    for compared in comparison.steps:
        assert within(compared.run_seconds_a, compared.run_seconds_b), compared
        assert within(compared.run_seconds_b, measured[compared.step]), compared
    assert comparison.makespan_seconds_a == pytest.approx(report.makespan_seconds)
