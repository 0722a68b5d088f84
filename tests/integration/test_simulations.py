"""Simulations through the kwok-scaler's gRPC API on the real stack
(apiserver + KWOK + Argo + Prometheus + NATS + MinIO): analytic scenarios
whose makespan is known, at time scale 1 and 10; a step no node can hold;
bad input that leaves nothing behind; simulations made from a reference dry
run, on virtual nodes and on the real node;
and a kill -9 of the scaler in the middle of one."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import grpc
import httpx
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
    workflow_submitter_pb2,
    workflow_submitter_pb2_grpc,
)
from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_devstack.cluster_policy import container_security_context
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import SIMULATION_NAMESPACE
from simpipe_devstack.stack import Stack

sub = workflow_submitter_pb2
T = TypeVar("T")
TIMEOUT = 60.0
TERMINAL = (
    events_pb2.SIMULATION_PHASE_SUCCEEDED,
    events_pb2.SIMULATION_PHASE_FAILED,
    events_pb2.SIMULATION_PHASE_CANCELLED,
    events_pb2.SIMULATION_PHASE_ERROR,
)
# The replay's answer must be within this of the analytic makespan.
TOLERANCE = 0.05


async def answered(call: Callable[[], Awaitable[T]], limit: float = 60.0) -> T:
    """A read's answer, asked again while the scaler is briefly unreachable
    (the shared stack's scaler is restarted by whoever changed it)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def owner() -> str:
    return unique("sim-tester")


def pod_template(name: str, cpu: str = "500m", memory: str = "64Mi") -> dict[str, Any]:
    return {
        "name": name,
        "container": {
            "image": "busybox:1.36",
            "command": ["sh", "-c"],
            "args": [f"echo {name}"],
            "resources": {"requests": {"cpu": cpu, "memory": memory}},
            "securityContext": container_security_context(),
        },
    }


def workflow_template(name: str, main: dict[str, Any], *pods: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate",
            "metadata": {"name": name},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", **main}, *pods]},
        }
    )


def independent(count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    main = {
        "dag": {
            "tasks": [{"name": "work", "template": "work", "withSequence": {"count": str(count)}}]
        }
    }
    return main, [pod_template("work")]


def chain(length: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    main = {"steps": [[{"name": f"link-{i}", "template": "link"}] for i in range(length)]}
    return main, [pod_template("link")]


def fan_out(width: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    main = {
        "dag": {
            "tasks": [
                {"name": "start", "template": "start"},
                {
                    "name": "fan",
                    "template": "fan",
                    "depends": "start",
                    "withSequence": {"count": str(width)},
                },
                {"name": "join", "template": "join", "depends": "fan"},
            ]
        }
    }
    return main, [pod_template("start"), pod_template("fan"), pod_template("join")]


class Project:
    """A project of `owner`'s with workflow templates, on a virtual cluster."""

    def __init__(
        self,
        owner: str,
        scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
        submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub,
        kube: client.ApiClient | None = None,
    ) -> None:
        self.kube = kube
        self.owner = owner
        self.scaler = scaler
        self.submitter = submitter
        self.id = ""
        self.clusters: list[str] = []
        self.simulations: list[str] = []

    async def create(self) -> None:
        project = await self.submitter.CreateProject(
            sub.CreateProjectRequest(caller=self.owner, name=unique("simulations")),
            timeout=TIMEOUT,
        )
        self.id = project.id

    async def template(self, name: str, shape: tuple[dict[str, Any], list[dict[str, Any]]]) -> str:
        main, pods = shape
        await self.submitter.CreateWorkflowTemplate(
            sub.WorkflowTemplateRequest(
                caller=self.owner, project_id=self.id, document=workflow_template(name, main, *pods)
            ),
            timeout=TIMEOUT,
        )
        return name

    async def example(self, document: dict[str, Any]) -> str:
        """An example pipeline's Workflow document as a WorkflowTemplate of
        the project, under a name of its own."""
        name = unique("example")
        template = {**document, "kind": "WorkflowTemplate", "metadata": {"name": name}}
        await self.submitter.CreateWorkflowTemplate(
            sub.WorkflowTemplateRequest(
                caller=self.owner, project_id=self.id, document=json.dumps(template)
            ),
            timeout=TIMEOUT,
        )
        return name

    async def cluster(
        self, nodes: int, *, cpu: str = "1", memory: str = "1Gi", pods: int = 1
    ) -> str:
        cluster = unique("vc")
        self.clusters.append(cluster)
        await self.scaler.CreateVirtualCluster(
            pb.CreateVirtualClusterRequest(
                caller=self.owner,
                id=cluster,
                pools=[pb.NodePool(name="small", count=nodes, cpu=cpu, memory=memory, pods=pods)],
            ),
            timeout=TIMEOUT,
        )
        deadline = time.monotonic() + TIMEOUT
        while True:
            found = await answered(
                lambda: self.scaler.GetVirtualCluster(
                    pb.VirtualClusterRef(caller=self.owner, id=cluster), timeout=TIMEOUT
                )
            )
            if sum(p.ready for p in found.pools) == nodes and not await asyncio.to_thread(
                self._tainted, cluster
            ):
                return cluster
            assert time.monotonic() < deadline, f"cluster {cluster} not ready: {found}"
            await asyncio.sleep(0.2)

    def _tainted(self, cluster: str) -> list[str]:
        """The cluster's nodes the node controller still marks not ready."""
        if self.kube is None:
            return []
        answer: Any = client.CoreV1Api(self.kube).list_node(
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

    async def start(self, template: str, cluster: str, **given: Any) -> pb.Simulation:
        simulation_id = unique("sim")
        self.simulations.append(simulation_id)
        request = pb.StartSimulationRequest(
            caller=self.owner,
            simulation_id=simulation_id,
            project_id=self.id,
            workflow_template_name=template,
            virtual_cluster_id=cluster,
            **given,
        )
        started: pb.Simulation = await self.scaler.StartSimulation(request, timeout=TIMEOUT)
        return started

    async def ended(self, simulation_id: str, limit: float) -> pb.Simulation:
        """The simulation once it ended (its phase polled, bounded by `limit`)."""
        deadline = time.monotonic() + limit
        while True:
            found: pb.Simulation = await answered(
                lambda: self.scaler.GetSimulation(
                    pb.SimulationRef(caller=self.owner, id=simulation_id), timeout=TIMEOUT
                )
            )
            if found.phase in TERMINAL:
                return found
            assert time.monotonic() < deadline, f"simulation {simulation_id} did not end: {found}"
            await asyncio.sleep(0.5)

    async def report(self, simulation_id: str) -> pb.SimulationReport:
        found: pb.SimulationReport = await answered(
            lambda: self.scaler.GetSimulationReport(
                pb.SimulationRef(caller=self.owner, id=simulation_id), timeout=TIMEOUT
            )
        )
        return found

    async def clean_up(self) -> None:
        # Through a restart of the shared scaler too: nothing is left behind.
        for simulation in self.simulations:
            ref = pb.SimulationRef(caller=self.owner, id=simulation)
            await gone_or_done(
                answered(partial(self.scaler.DeleteSimulation, ref, timeout=TIMEOUT))
            )
        for cluster in self.clusters:
            cluster_ref = pb.VirtualClusterRef(caller=self.owner, id=cluster)
            await gone_or_done(
                answered(partial(self.scaler.DeleteVirtualCluster, cluster_ref, timeout=TIMEOUT))
            )


async def gone_or_done(call: Awaitable[Any]) -> None:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise


@pytest.fixture
async def project(
    owner: str,
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub,
    kube: client.ApiClient,
) -> AsyncIterator[Project]:
    made = Project(owner, scaler, submitter, kube)
    await made.create()
    yield made
    await made.clean_up()


def explicit(seconds: float, *steps: str, **figures: Any) -> pb.TimingSource:
    return pb.TimingSource(
        explicit=pb.ExplicitFigures(
            steps=[
                pb.StepFigures(
                    step=step, seconds=seconds, cpu_cores=0.5, memory_bytes=2**26, **figures
                )
                for step in steps
            ]
        )
    )


def within(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return math.isclose(value, expected, rel_tol=tolerance)


async def scraped(prometheus: str, cluster: str, nodes: int) -> None:
    """Waits until Prometheus scrapes each node of the cluster: it learns of
    new targets a few seconds after they are listed, and a 1 s step at 10x
    started before would leave no usage samples (its timing would not
    change)."""
    query = f'count(up{{node=~"vc-[0-9a-f]+-{cluster}-.+"}} == 1)'
    deadline = time.monotonic() + TIMEOUT
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        while True:
            answer = await http.get(f"{prometheus}/api/v1/query", params={"query": query})
            answer.raise_for_status()
            found = answer.json()["data"]["result"]
            if found and int(found[0]["value"][1]) == nodes:
                return
            assert time.monotonic() < deadline, f"Prometheus does not scrape {cluster}"
            await asyncio.sleep(0.5)


async def analytic(
    project: Project,
    shape: tuple[dict[str, Any], list[dict[str, Any]]],
    timing: pb.TimingSource,
    scale: float,
    nodes: int,
    prometheus: str,
) -> pb.SimulationReport:
    template = await project.template(unique("analytic"), shape)
    cluster = await project.cluster(nodes)
    await scraped(prometheus, cluster, nodes)
    started = await project.start(template, cluster, timing=timing, time_scale=scale)
    assert started.phase == events_pb2.SIMULATION_PHASE_RUNNING
    ended = await project.ended(started.id, limit=300.0)
    assert ended.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED, ended.message
    report = await project.report(started.id)
    assert report.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED
    assert report.time_scale == scale
    return report


SCENARIOS = {
    # 20 independent 20 s steps on 4 one-pod nodes: five rounds.
    "independent": (independent(20), ("work",), 20.0, 100.0),
    # A chain of 5 steps of 10 s.
    "chain": (chain(5), ("link",), 10.0, 50.0),
    # 10 s, then 40 steps of 10 s on 4 nodes (ten rounds), then 10 s.
    "fan-out": (fan_out(40), ("start", "fan", "join"), None, 120.0),
}


def fan_timing() -> pb.TimingSource:
    return pb.TimingSource(
        explicit=pb.ExplicitFigures(
            steps=[
                pb.StepFigures(step="start", seconds=10.0, cpu_cores=0.5),
                pb.StepFigures(step="fan", seconds=10.0, cpu_cores=0.5),
                pb.StepFigures(step="join", seconds=10.0, cpu_cores=0.5),
            ]
        )
    )


# Three scrapes of a 10 s step at 10x: the fast scrape of small clusters.
FAST = 10.0


async def running_samples(prometheus: str, run: str) -> dict[str, float]:
    """How many times each pod's CPU counter grew between scrapes: a
    finished pod's stays put (KWOK goes on serving it until the pod is
    deleted), so n changes are n + 1 samples while it ran."""
    query = (
        f"sum by (pod) (changes(container_cpu_usage_seconds_total{{"
        f'namespace="{SIMULATION_NAMESPACE}", pod=~"{run}-.+", container="main"}}[30m]))'
    )
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        answer = await http.get(f"{prometheus}/api/v1/query", params={"query": query})
    answer.raise_for_status()
    return {r["metric"]["pod"]: float(r["value"][1]) for r in answer.json()["data"]["result"]}


@pytest.mark.timeout(400)
async def test_analytic_scenarios_at_time_scale_1_and_10(
    project: Project, endpoints: dict[str, str]
) -> None:
    """Every scenario at both scales at once, each on a cluster of its own:
    the makespan is within 5% of the analytic one, and the same at both
    scales; the queueing is what the cluster's size implies. At 10x each
    1 s (wall) step still has its usage series in Prometheus."""
    runs: dict[tuple[str, float], Awaitable[pb.SimulationReport]] = {}
    fast = FAST
    for name, (shape, steps, seconds, _) in SCENARIOS.items():
        for scale in (1.0, fast):
            timing = fan_timing() if seconds is None else explicit(seconds, *steps)
            runs[(name, scale)] = analytic(
                project, shape, timing, scale, 4, endpoints["prometheus"]
            )
    reports = dict(zip(runs, await asyncio.gather(*runs.values()), strict=True))
    for (name, scale), report in reports.items():
        expected = SCENARIOS[name][3]
        assert within(report.makespan_seconds, expected), (name, scale, report.makespan_seconds)
        other = reports[(name, fast if scale == 1.0 else 1.0)]
        assert within(report.makespan_seconds, other.makespan_seconds), (name, scale)
        # Orchestration is measured and kept apart, not added.
        assert report.orchestration_overhead_seconds >= 0
        assert all(s.phase == "Succeeded" for s in report.steps)
        [pool] = report.pools
        assert 0 < pool.peak_cpu <= 0.5 + 1e-9  # one 500m pod per 1-core node
    independent_report = reports[("independent", 1.0)]
    assert len(independent_report.steps) == 20
    queued = sorted(round(s.queued_seconds) for s in independent_report.steps)
    assert [queued.count(q) for q in (0, 20, 40, 60, 80)] == [4, 4, 4, 4, 4], queued
    assert independent_report.peak_pods_pending == 16
    chain_report = reports[("chain", fast)]
    assert all(s.queued_seconds == pytest.approx(0, abs=0.5) for s in chain_report.steps)
    [run] = {s.dry_run_id for s in chain_report.steps}
    # Each 1 s step of the chain at 10x has its usage series. How many
    # samples fall inside its second is not asserted: on a quiet
    # machine 3 or more, but under the whole suite's load KWOK renders
    # late and a step may see one or none grow.
    changes = await running_samples(endpoints["prometheus"], run)
    assert len(changes) == 5, changes
    fan = [s for s in reports[("fan-out", fast)].steps if s.template_name == "fan"]
    assert len(fan) == 40
    assert max(s.queued_seconds for s in fan) == pytest.approx(90.0, rel=TOLERANCE)
    assert reports[("fan-out", 1.0)].peak_pods_pending == 36
    # Two simulations side by side: the chain at both scales.
    compared = await project.scaler.CompareSimulations(
        pb.CompareSimulationsRequest(
            caller=project.owner,
            simulation_id=reports[("chain", 1.0)].simulation_id,
            other_simulation_id=chain_report.simulation_id,
        ),
        timeout=TIMEOUT,
    )
    assert within(compared.makespan_seconds_a, compared.makespan_seconds_b)
    [link] = compared.steps
    assert (link.step, link.run_seconds_a, link.run_seconds_b) == ("link", 10.0, 10.0)
    # Listed per project, for their owner only.
    listed = await project.scaler.ListSimulations(
        pb.ListSimulationsRequest(caller=project.owner, project_id=project.id), timeout=TIMEOUT
    )
    assert {s.id for s in listed.simulations} == {r.simulation_id for r in reports.values()}
    others = await project.scaler.ListSimulations(
        pb.ListSimulationsRequest(caller=unique("someone-else")), timeout=TIMEOUT
    )
    assert not others.simulations


@pytest.mark.timeout(180)
async def test_a_step_bigger_than_every_node_ends_the_simulation_with_the_reason(
    project: Project, kube: client.ApiClient
) -> None:
    template = await project.template(
        unique("too-big"),
        ({"steps": [[{"name": "huge", "template": "huge"}]]}, [pod_template("huge", cpu="8")]),
    )
    cluster = await project.cluster(2)
    started = await project.start(template, cluster, timing=explicit(5.0, "huge"))
    ended = await project.ended(started.id, limit=120.0)
    assert ended.phase == events_pb2.SIMULATION_PHASE_FAILED
    assert "can never be scheduled" in ended.message
    assert "Insufficient cpu" in ended.message
    report = await project.report(started.id)
    [unschedulable] = report.unschedulable
    assert "Insufficient cpu" in unschedulable.reason
    # Its run was stopped: it ends (Argo terminates it) instead of waiting forever.
    deadline = time.monotonic() + TIMEOUT
    while True:
        workflow: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", started.dry_run_ids[0]
        )
        phase = (workflow.get("status") or {}).get("phase")
        if phase in ("Failed", "Error"):
            break
        assert time.monotonic() < deadline, f"the unschedulable run is still {phase}"
        await asyncio.sleep(0.5)


async def test_bad_input_is_refused_and_leaves_nothing(
    project: Project, kube: client.ApiClient, owner: str
) -> None:
    template = await project.template(unique("bad"), chain(2))
    cluster = await project.cluster(1)

    async def refused(code: grpc.StatusCode, **given: Any) -> str:
        simulation_id = unique("bad")
        fields: dict[str, Any] = {
            "caller": owner, "simulation_id": simulation_id, "project_id": project.id,
            "workflow_template_name": template, "virtual_cluster_id": cluster,
            "timing": explicit(10.0, "link"), **given,
        }  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await project.scaler.StartSimulation(
                pb.StartSimulationRequest(**fields), timeout=TIMEOUT
            )
        assert error.value.code() == code, error.value.details()
        # Nothing left: no record, no run.
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await project.scaler.GetSimulation(
                pb.SimulationRef(caller=owner, id=simulation_id), timeout=TIMEOUT
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        runs: Any = client.CustomObjectsApi(kube).list_namespaced_custom_object(
            "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows",
            label_selector=f"simpipe.io/simulation={simulation_id}",
        )  # fmt: skip
        assert runs["items"] == []
        return error.value.details() or ""

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await refused(
        grpc.StatusCode.NOT_FOUND, timing=pb.TimingSource(reference_dry_run_id="no-such-run")
    )
    await refused(invalid, timing=explicit(10.0, "no-such-template"))
    await refused(invalid, timing=explicit(-1.0, "link"))
    await refused(invalid, timing=explicit(float("nan"), "link"))
    await refused(invalid, timing=pb.TimingSource())
    await refused(invalid, copies=-1)
    await refused(invalid, copies=10**6)
    await refused(invalid, spacing_seconds=float("inf"))
    await refused(grpc.StatusCode.NOT_FOUND, virtual_cluster_id="no-such-cluster")
    await refused(invalid, pool="no-such-pool")
    too_high = await refused(invalid, time_scale=1000.0)
    assert "largest allowed time scale" in too_high
    # A cluster past the fast-scrape bound is scraped every second: a 10 s
    # step allows 3.33x there, not the 10x of the small cluster above.
    big = await project.cluster(20)
    bound = await refused(invalid, virtual_cluster_id=big, time_scale=FAST)
    assert "largest allowed time scale is 3.333" in bound, bound
    # Another owner's cluster is not found.
    other = Project(unique("intruder"), project.scaler, project.submitter)
    await other.create()
    try:
        other_template = await other.template(unique("bad"), chain(2))
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await other.start(other_template, cluster, timing=explicit(10.0, "link"))
        assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await other.clean_up()


async def reference_run(
    project: Project, collector: Any, template: str,
    nodes: sub.Nodes.ValueType = sub.NODES_VIRTUAL, limit: float = 120.0,
) -> str:  # fmt: skip
    """A dry run of the project's template on the stack's virtual nodes (or
    its real one), once its run report is written."""
    run = unique("reference")
    await project.submitter.CreateDryRun(
        sub.CreateDryRunRequest(
            caller=project.owner, project_id=project.id, dry_run_id=run,
            workflow_template_name=template, placement=sub.Placement(nodes=nodes),
        ),
        timeout=TIMEOUT,
    )  # fmt: skip
    deadline = time.monotonic() + limit
    while True:
        try:
            report = await collector.GetRunReport(
                metrics_collector_pb2.DryRunMetricsRef(caller=project.owner, dry_run_id=run),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            assert time.monotonic() < deadline, f"no report of {run}"
            await asyncio.sleep(1.0)
            continue
        assert report.phase == "Succeeded", report.phase
        return run


@pytest.mark.timeout(300)
async def test_a_simulation_from_a_reference_run_plays_its_measured_steps(
    project: Project, collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub
) -> None:
    """The example pipeline dry-run on the stack's virtual nodes, its report
    written; simulated from that run on a cluster of its own: each step's
    simulated run time is its measured duration (within 5%), the same steps
    ran, and CompareSimulations puts both side by side."""
    template = await project.example(
        simulated_pipeline(EXAMPLE_STEPS, argo_service("http://unused")).to_dict()
    )
    run = await reference_run(project, collector, template)
    measured = await collector.GetRunReport(
        metrics_collector_pb2.DryRunMetricsRef(caller=project.owner, dry_run_id=run),
        timeout=TIMEOUT,
    )
    cluster = await project.cluster(2, cpu="4", memory="8Gi", pods=4)
    started = await project.start(
        template, cluster, timing=pb.TimingSource(reference_dry_run_id=run)
    )
    ended = await project.ended(started.id, limit=120.0)
    assert ended.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED, ended.message
    report = await project.report(started.id)
    simulated = {s.template_name: s for s in report.steps}
    assert set(simulated) == {step.name for step in EXAMPLE_STEPS}
    durations = {s.display_name: s.summary.duration_seconds for s in measured.summary.steps}
    for name, step in simulated.items():
        assert within(step.run_seconds, durations[name]), (name, step.run_seconds, durations)
    # A sequential pipeline: the makespan is the sum of its steps.
    assert within(report.makespan_seconds, sum(durations.values()))
    comparison = await project.scaler.CompareSimulations(
        pb.CompareSimulationsRequest(
            caller=project.owner, simulation_id=started.id, reference_dry_run_id=run
        ),
        timeout=TIMEOUT,
    )
    assert {c.step for c in comparison.steps} == set(simulated)
    for compared in comparison.steps:
        assert within(compared.run_seconds_a, compared.run_seconds_b), compared
    # Another owner cannot simulate from this run.
    intruder = Project(unique("intruder"), project.scaler, project.submitter)
    await intruder.create()
    try:
        other_template = await intruder.template(unique("bad"), chain(1))
        other_cluster = await intruder.cluster(1)
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await intruder.start(
                other_template, other_cluster, timing=pb.TimingSource(reference_dry_run_id=run)
            )
        assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await intruder.clean_up()


# What argoexec archives of every step when the artifact repository keeps
# logs: the executor's doing, not an output of the template.
LOGS_ARTIFACT = "main-logs"


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


def measured_seconds(
    report: metrics_collector_pb2.RunReport, run: dry_runs_pb2.DryRun
) -> dict[str, float]:
    """Each template's measured duration in the run report (one pod each)."""
    templates = {n.id: n.template_name for n in run.nodes if n.type == "Pod"}
    found: dict[str, float] = {}
    for step in report.summary.steps:
        template = templates[step.node_id]
        assert template not in found, f"{template} ran twice in the reference run"
        found[template] = step.summary.duration_seconds
    return found


@pytest.mark.timeout(600)
async def test_a_simulation_from_a_real_run_of_the_example_plays_its_measured_steps(
    real_node: Stack,
    project: Project,
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub,
    watcher: argo_watcher_pb2_grpc.ArgoWatcherAsyncStub,
) -> None:
    """The example pipeline `make demo` runs, dry-run for real on the real
    node (kubelet + containerd), then simulated from its report on a
    cluster of its own: the same steps, each its measured duration, the
    chain's makespan their sum, the same output artifacts wired to the same
    inputs, and CompareSimulations side by side."""
    template = await project.example(
        real_pipeline(EXAMPLE_REAL_STEPS, argo_service("http://unused")).to_dict()
    )

    async def dry_run(dry_run_id: str) -> dry_runs_pb2.DryRun:
        found: dry_runs_pb2.DryRun = await answered(
            lambda: watcher.GetDryRun(
                argo_watcher_pb2.GetDryRunRequest(caller=project.owner, dry_run_id=dry_run_id),
                timeout=TIMEOUT,
            )
        )
        return found

    # The cluster is made while the pipeline runs for real.
    run, cluster = await asyncio.gather(
        reference_run(project, collector, template, sub.NODES_REAL, limit=240.0),
        project.cluster(2, cpu="4", memory="8Gi", pods=4),
    )
    reference = await collector.GetRunReport(
        metrics_collector_pb2.DryRunMetricsRef(caller=project.owner, dry_run_id=run),
        timeout=TIMEOUT,
    )
    real = await dry_run(run)
    measured = measured_seconds(reference, real)
    assert set(measured) == {step.name for step in EXAMPLE_REAL_STEPS}, measured
    assert all(seconds > 0 for seconds in measured.values()), measured

    started = await project.start(
        template, cluster, timing=pb.TimingSource(reference_dry_run_id=run)
    )
    finished = await project.ended(started.id, limit=180.0)
    assert finished.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED, finished.message
    report = await project.report(started.id)
    print(
        f"\nreference {run}: measured {measured}, run"
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
    # The example is a chain (each step reads the previous one's file):
    # the makespan is the sum of its steps. The real run's own duration
    # also holds Argo's gaps between steps, reported apart.
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
    # their output artifacts. The simulated run records the same ones,
    # and each step's inputs resolve to them, as in the real run; a
    # parameter the example gained would be compared here too.
    [simulated_run_id] = finished.dry_run_ids
    simulated_run = await dry_run(simulated_run_id)
    real_outputs = step_outputs(real)
    assert any(o["outputs"] for o in real_outputs.values()), real_outputs
    assert step_outputs(simulated_run) == real_outputs
    assert unresolved_inputs(real) == unresolved_inputs(simulated_run) == []

    comparison = await project.scaler.CompareSimulations(
        pb.CompareSimulationsRequest(
            caller=project.owner, simulation_id=started.id, reference_dry_run_id=run
        ),
        timeout=TIMEOUT,
    )
    assert (comparison.a, comparison.b) == (started.id, run)
    assert {c.step for c in comparison.steps} == set(measured)
    for compared in comparison.steps:
        assert within(compared.run_seconds_a, compared.run_seconds_b), compared
        assert within(compared.run_seconds_b, measured[compared.step]), compared
    assert comparison.makespan_seconds_a == pytest.approx(report.makespan_seconds)


@pytest.mark.timeout(300)
async def test_a_simulation_survives_a_kill_of_the_scaler(
    project: Project, stack: Stack, crash: Callable[[Any], None]
) -> None:
    template = await project.template(unique("survivor"), chain(4))
    cluster = await project.cluster(2)
    started = await project.start(
        template, cluster, timing=explicit(5.0, "link"), copies=2, spacing_seconds=5.0
    )
    # Once its first step is done (its progress says so), the scaler dies.
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = await answered(
            lambda: project.scaler.GetSimulation(
                pb.SimulationRef(caller=project.owner, id=started.id), timeout=TIMEOUT
            )
        )
        if found.progress.steps_done >= 1:
            break
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.2)
    # kill -9 of the kwok-scaler process only (its pid from the stack).
    scaler = next(c for c in stack.active_components if c.name == "kwok-scaler")
    crash(scaler)
    await asyncio.to_thread(scaler.start, stack)
    ended = await project.ended(started.id, limit=180.0)
    assert ended.phase == events_pb2.SIMULATION_PHASE_SUCCEEDED, ended.message
    assert "resumed" in ended.message
    report = await project.report(started.id)
    assert len(report.steps) == 8
    assert within(report.makespan_seconds, 25.0, 0.1), report.makespan_seconds


__all__: Sequence[str] = ()
