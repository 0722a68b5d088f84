"""The simulations' public face: the RPCs' logic, scoped by caller, and the
background work that runs each simulation to its end.

A simulation is `copies` dry runs created through the workflow-submitter
(one policy path) on a virtual cluster, each step timed by KWOK from the
figures written on its pods. This module submits the copies at their
offsets, follows their pods and Workflows through our own watches, ends the
simulation when its runs end (or when it cannot go on: a step that can
never be scheduled, the deadline, a cancel), and then replays what the
cluster did into the simulated timeline and writes the report."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean
from typing import TYPE_CHECKING, Any

import structlog
from kubernetes import client

from simpipe.v1 import (
    events_pb2,
    kwok_scaler_pb2,
    metrics_collector_pb2,
    workflow_submitter_pb2,
)
from simpipe_common.argo_nodes import workflow_nodes
from simpipe_common.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from simpipe_common.memory import release_free_memory
from simpipe_common.validation import caller as checked_caller
from simpipe_common.validation import dns_label
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher
from simpipe_kwok_scaler.clusters.record import ClusterRecord, record_name
from simpipe_kwok_scaler.clusters.scrape import COARSE, FAST, STANDARD, scrape_class
from simpipe_kwok_scaler.simulations import figures as timing
from simpipe_kwok_scaler.simulations.calls import called
from simpipe_kwok_scaler.simulations.observations import (
    WORKFLOW_LABEL,
    PodObservation,
    dump,
    from_status,
    load,
    observe,
)
from simpipe_kwok_scaler.simulations.quantities import quantity
from simpipe_kwok_scaler.simulations.records import (
    Records,
    SimulationRecord,
    all_selector,
    owner_selector,
)
from simpipe_kwok_scaler.simulations.replay import Pool, Timeline, pod_predecessors, replay
from simpipe_kwok_scaler.simulations.report import ReportStore, build
from simpipe_kwok_scaler.simulations.watch import ObjectWatch, pods_call, workflows_call

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from simpipe.v1.argo_watcher_pb2_grpc import ArgoWatcherAsyncStub
    from simpipe.v1.metrics_collector_pb2_grpc import MetricsCollectorAsyncStub
    from simpipe.v1.workflow_submitter_pb2_grpc import WorkflowSubmitterAsyncStub
    from simpipe_kwok_scaler.config import KwokScalerSettings

log = structlog.get_logger(__name__)
pb = kwok_scaler_pb2
Phase = events_pb2.SimulationPhase
SOURCE = "kwok-scaler"
SIMULATION_LABEL = "simpipe.io/simulation"
TERMINAL_WORKFLOW_PHASES = ("Succeeded", "Failed", "Error")
TERMINAL = (
    events_pb2.SIMULATION_PHASE_SUCCEEDED,
    events_pb2.SIMULATION_PHASE_FAILED,
    events_pb2.SIMULATION_PHASE_CANCELLED,
    events_pb2.SIMULATION_PHASE_ERROR,
)
# Room for "-<copy>" in a Workflow name (a DNS label).
MAX_SIMULATION_ID_LENGTH = 50
MAX_SPACING_SECONDS = 30 * 24 * 3600.0
MAX_PARAMETERS = 100
# Copies created at once when several are due.
SUBMIT_CONCURRENCY = 8
SUBMIT_ATTEMPTS = 5
# Progress replays take at most this share of the scaler's time.
REPLAY_SHARE = 0.1
# After its runs end, how long the last pods' changes may take to arrive.
SETTLE_SECONDS = 3.0
# A pod that fits an empty node of the pool but is still unschedulable
# with nothing running (taints, selectors): given this many times the grace.
FITTING_GRACE_FACTOR = 10


@dataclass
class Live:
    """A simulation that has not ended, in memory while its driver runs."""

    record: SimulationRecord
    figures: dict[str, pb.StepFigures]
    # Node allocatable of the cluster's (or pool's) nodes: (cpu, memory) per pool.
    pools: dict[str, tuple[float, float, int, int]]
    pods: dict[str, PodObservation] = field(default_factory=dict)
    workflows: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Each run's Argo graph: node id -> (type, children).
    graphs: dict[str, dict[str, tuple[str, list[str]]]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str = ""
    dirty: bool = False
    resumed: bool = False
    task: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    # The last replay for progress: its result, when, and how long it took.
    simulated_seconds: float = 0.0
    replayed_at: float = -math.inf
    replay_seconds: float = 0.0

    @property
    def simulation(self) -> pb.Simulation:
        return self.record.simulation

    @property
    def spec(self) -> pb.StartSimulationRequest:
        return self.record.simulation.spec

    @property
    def time_scale(self) -> float:
        return self.spec.time_scale or 1.0

    @property
    def copies(self) -> dict[str, tuple[int, float]]:
        spacing = self.spec.spacing_seconds
        return {run: (k, k * spacing) for k, run in enumerate(self.simulation.dry_run_ids)}


def _now_timestamp(message: Any) -> None:
    message.FromDatetime(datetime.now(UTC))


def _made_up_id() -> str:
    return f"sim-{secrets.token_hex(4)}"


class Simulations:
    """Every simulation RPC of the servicer, plus `run()`: the background
    work (watching the simulated runs' pods, recovery after a restart).

    `kube` makes the (sync) Kubernetes client; `s3` writes reports, `signer`
    only signs their URLs (a client of the endpoint readers reach)."""

    def __init__(
        self,
        settings: KwokScalerSettings,
        *,
        kube: Callable[[], client.ApiClient],
        submitter: WorkflowSubmitterAsyncStub,
        collector: MetricsCollectorAsyncStub,
        watcher: ArgoWatcherAsyncStub,
        publisher: EventPublisher,
        s3: S3Client,
        signer: S3Client,
    ) -> None:
        self.settings = settings
        self._kube = kube
        self._submitter = submitter
        self._collector = collector
        self._watcher = watcher
        self._publisher = publisher
        self._timeout = settings.grpc_call_timeout_seconds
        self.records = Records(kube, settings.scaler_namespace, settings.kube_timeout_seconds)
        self.reports = ReportStore(s3, signer, settings.reports_bucket, settings.report_url_seconds)
        self.energy = settings.energy_model()
        self._live: dict[tuple[str, str], Live] = {}
        self._by_run: dict[str, Live] = {}
        self._watches: list[ObjectWatch] = []
        self._started = asyncio.Event()

    # Background

    async def run(self) -> None:
        """Resumes unfinished simulations, then keeps their watches going
        until cancelled."""
        resumed = await self._resume_records()
        self._watches = [
            ObjectWatch(
                "pods", self._kube, pods_call, self.settings.simulation_namespace, WORKFLOW_LABEL,
                self._on_pod, self.settings.kube_timeout_seconds,
            ),
            ObjectWatch(
                "workflows", self._kube, workflows_call, self.settings.simulation_namespace,
                SIMULATION_LABEL, self._on_workflow, self.settings.kube_timeout_seconds,
            ),
        ]  # fmt: skip
        tasks = [asyncio.create_task(w.run()) for w in self._watches]
        try:
            await asyncio.gather(*(w.synced.wait() for w in self._watches))
            self._started.set()
            for live in resumed:
                self._drive(live)
            await asyncio.gather(*tasks)
        finally:
            for w in self._watches:
                w.stop()
            for task in tasks:
                task.cancel()
            for live in list(self._live.values()):
                if live.task is not None:
                    live.task.cancel()

    async def _resume_records(self) -> list[Live]:
        """The records of simulations that had not ended when the scaler
        stopped: they go on from their checkpoint."""
        found: list[Live] = []
        for record in await self._all_records():
            if record.simulation.phase in TERMINAL:
                continue
            try:
                pools = await self._cluster_pools(
                    record.owner, record.simulation.spec.virtual_cluster_id,
                    record.simulation.spec.pool,
                )  # fmt: skip
            except NotFoundError:
                pools = {}
            live = Live(
                record=record,
                figures={f.step: f for f in record.figures},
                pools=pools,
                pods=load(record.observations),
                resumed=True,
            )
            self._register(live)
            found.append(live)
            log.info("simulation resumed", simulation=record.simulation.id)
        return found

    async def _all_records(self) -> list[SimulationRecord]:
        return await self.records.matching(all_selector())

    def _register(self, live: Live) -> None:
        self._live[(live.record.owner, live.simulation.id)] = live
        for run in live.simulation.dry_run_ids:
            self._by_run[run] = live

    def _unregister(self, live: Live) -> None:
        self._live.pop((live.record.owner, live.simulation.id), None)
        for run in live.simulation.dry_run_ids:
            if self._by_run.get(run) is live:
                del self._by_run[run]

    def _on_pod(self, kind: str, pod: dict[str, Any], now: float) -> None:
        metadata = pod.get("metadata") or {}
        run = (metadata.get("labels") or {}).get(WORKFLOW_LABEL, "")
        live = self._by_run.get(run)
        if live is None or kind == "DELETED":
            return
        name = str(metadata.get("name"))
        previous = live.pods.get(name)
        if kind == "LISTED":
            # Changes made while nobody watched: the pod's own timestamps.
            listed = from_status(pod)
            if previous is None:
                live.pods[name] = listed
                live.dirty = True
                live.wake.set()
                return
            for attribute in ("node", "scheduled", "running", "finished"):
                if not getattr(previous, attribute) and getattr(listed, attribute):
                    setattr(previous, attribute, getattr(listed, attribute))
                    previous.from_status = True
        live.pods[name] = observe(previous, pod, now)
        live.dirty = True
        live.wake.set()

    def _on_workflow(self, kind: str, workflow: dict[str, Any], now: float) -> None:
        metadata = workflow.get("metadata") or {}
        live = self._by_run.get(str(metadata.get("name")))
        if live is None:
            return
        status = workflow.get("status") or {}
        phase = "Deleted" if kind == "DELETED" else str(status.get("phase") or "")
        name = str(metadata["name"])
        live.workflows[name] = (phase, str(status.get("message") or ""))
        nodes = workflow_nodes(status)
        if nodes:
            live.graphs[name] = {
                str(node_id): (str(node.get("type") or ""), list(node.get("children") or ()))
                for node_id, node in nodes.items()
                if isinstance(node, dict)
            }
        live.wake.set()

    # Start

    async def start_simulation(self, request: pb.StartSimulationRequest) -> pb.Simulation:
        owner = checked_caller(request.caller)
        simulation_id = request.simulation_id or _made_up_id()
        dns_label("simulation id", simulation_id, MAX_SIMULATION_ID_LENGTH)
        if request.project_id:
            dns_label("project id", request.project_id)
        if not request.workflow_template_name:
            raise InvalidInputError("a simulation needs the project's workflow template name")
        dns_label("workflow template name", request.workflow_template_name)
        if len(request.parameters) > MAX_PARAMETERS:
            raise InvalidInputError(f"at most {MAX_PARAMETERS} parameters")
        copies = request.copies or 1
        if not 1 <= copies <= self.settings.simulation_max_copies:
            raise InvalidInputError(
                f"copies must be 1-{self.settings.simulation_max_copies}, not {request.copies}"
            )
        spacing = request.spacing_seconds
        if not math.isfinite(spacing) or not 0 <= spacing <= MAX_SPACING_SECONDS:
            raise InvalidInputError(
                f"spacing_seconds must be a finite number from 0 to {MAX_SPACING_SECONDS:g}"
            )
        time_scale = request.time_scale or 1.0
        if not request.virtual_cluster_id:
            raise InvalidInputError("a simulation needs a virtual cluster")
        dns_label("virtual cluster id", request.virtual_cluster_id)
        if request.pool:
            dns_label("pool", request.pool)
        cluster = await self._cluster(owner, request.virtual_cluster_id)
        pools = _pools(cluster, request.pool)
        found = await timing.resolve(
            request.timing, owner, self._collector, self._watcher, self._timeout
        )
        timing.check_time_scale(
            time_scale, found, self._scrape_seconds(cluster),
            self.settings.simulation_max_time_scale,
        )  # fmt: skip
        project_id = request.project_id or await self._template_project(
            owner, request.workflow_template_name
        )
        spec = pb.StartSimulationRequest()
        spec.CopyFrom(request)
        spec.caller = ""
        spec.simulation_id = simulation_id
        spec.project_id = project_id
        spec.copies = copies
        spec.time_scale = time_scale
        simulation = pb.Simulation(
            id=simulation_id,
            project_id=project_id,
            owner=owner,
            phase=events_pb2.SIMULATION_PHASE_RUNNING,
            spec=spec,
            dry_run_ids=[f"{simulation_id}-{k}" for k in range(copies)],
            progress=pb.SimulationProgress(steps_total=len(found) * copies),
        )
        _now_timestamp(simulation.created_at)
        record = SimulationRecord(simulation, list(found.values()), {"submitted": 0})
        if (owner, simulation_id) in self._live:
            raise ConflictError(f"simulation {simulation_id} already exists")
        try:
            await self.records.create(record)
        except ConflictError:
            raise ConflictError(f"simulation {simulation_id} already exists") from None
        live = Live(record=record, figures=found, pools=pools)
        self._register(live)
        # Copy 0 now: a refusal (an unknown template or step, another
        # owner's run of that name) leaves nothing behind.
        record.state["wall_start"] = time.time()
        try:
            await self._submit(live, 0)
        except ServiceError:
            self._unregister(live)
            await self.records.delete(owner, simulation_id)
            raise
        record.state["submitted"] = 1
        live.dirty = True
        log.info("simulation started", simulation=simulation_id, copies=copies, scale=time_scale)
        self._drive(live)
        return self._message(live)

    async def _template_project(self, owner: str, name: str) -> str:
        template = await called(
            f"workflow template {name}",
            self._submitter.GetWorkflowTemplate(
                workflow_submitter_pb2.WorkflowTemplateRef(caller=owner, name=name),
                timeout=self._timeout,
            ),
        )
        return template.project_id

    async def _cluster_pools(
        self, owner: str, cluster: str, pool: str
    ) -> dict[str, tuple[float, float, int, int]]:
        """Each pool's node count and per-node allocatable CPU and memory;
        NotFoundError for a cluster that is not the owner's."""
        return _pools(await self._cluster(owner, cluster), pool)

    async def _cluster(self, owner: str, cluster: str) -> ClusterRecord:
        document = await self.records.config_map(
            f"virtual cluster {cluster}", record_name(owner, cluster)
        )
        record = ClusterRecord.from_document(document)
        if record.owner != owner:
            raise NotFoundError(f"virtual cluster {cluster} not found")
        return record

    def _scrape_seconds(self, record: ClusterRecord) -> float:
        """The scrape interval Prometheus gives the cluster's nodes."""
        settings = self.settings
        scrape = scrape_class(record.nodes, record.pods, settings)
        return {
            FAST: settings.simulation_fast_scrape_interval_seconds,
            STANDARD: settings.simulation_scrape_interval_seconds,
            COARSE: settings.simulation_coarse_scrape_interval_seconds,
        }[scrape]

    def _submission(self, live: Live, k: int) -> workflow_submitter_pb2.CreateDryRunRequest:
        spec = live.spec
        return workflow_submitter_pb2.CreateDryRunRequest(
            caller=live.record.owner,
            project_id=spec.project_id,
            dry_run_id=live.simulation.dry_run_ids[k],
            workflow_template_name=spec.workflow_template_name,
            parameters=dict(spec.parameters),
            placement=workflow_submitter_pb2.Placement(
                nodes=workflow_submitter_pb2.NODES_VIRTUAL,
                virtual_cluster=spec.virtual_cluster_id,
                pool=spec.pool,
            ),
            simulated_steps=timing.for_submission(live.figures, live.time_scale),
            simulation_id=live.simulation.id,
        )

    async def _submit(self, live: Live, k: int) -> None:
        await called(
            f"copy {k} of simulation {live.simulation.id}",
            self._submitter.CreateDryRun(self._submission(live, k), timeout=self._timeout),
        )

    # Driving

    def _drive(self, live: Live) -> None:
        live.task = asyncio.create_task(self._driver(live))

    async def _driver(self, live: Live) -> None:
        try:
            await self._until_ended(live)
        except asyncio.CancelledError:
            # The scaler stops: what was observed stays in the record.
            with contextlib.suppress(Exception):
                await self._checkpoint(live)
            raise
        except Exception as error:
            log.exception("simulation failed", simulation=live.simulation.id)
            with contextlib.suppress(Exception):
                await self._end(
                    live, events_pb2.SIMULATION_PHASE_ERROR, f"the scaler could not go on: {error}"
                )
        finally:
            live.ended.set()

    async def _until_ended(self, live: Live) -> None:
        settings = self.settings
        started_wall = live.simulation.created_at.ToDatetime(UTC).timestamp()
        last_checkpoint = last_progress = 0.0
        stuck_since: float | None = None
        sent_progress: tuple[int, int, int, int] | None = None
        while True:
            now = time.time()
            await self._submit_due(live, now)
            if live.cancel_reason:
                await self._stop_runs(live)
                await self._end(live, events_pb2.SIMULATION_PHASE_CANCELLED, live.cancel_reason)
                return
            if now - started_wall > settings.simulation_deadline_seconds:
                await self._stop_runs(live)
                await self._end(
                    live, events_pb2.SIMULATION_PHASE_ERROR,
                    f"the simulation did not end within its deadline of"
                    f" {settings.simulation_deadline_seconds:g} s of wall time; its runs were"
                    " stopped",
                )  # fmt: skip
                return
            if self._all_submitted(live) and self._runs_ended(live):
                await self._settle(live)
                phase, message = self._outcome(live)
                await self._end(live, phase, message)
                return
            blocked = self._blocked(live)
            if blocked is None:
                stuck_since = None
            else:
                stuck_since = stuck_since or now
                pod, fits = blocked
                grace = settings.simulation_unschedulable_grace_seconds
                held = now - max(stuck_since, pod.unschedulable_at or stuck_since)
                if held >= grace * (FITTING_GRACE_FACTOR if fits else 1):
                    await self._stop_runs(live)
                    await self._end(
                        live, events_pb2.SIMULATION_PHASE_FAILED,
                        f"step {pod.display_name} of {pod.workflow} can never be scheduled"
                        f" on virtual cluster {live.spec.virtual_cluster_id}"
                        f"{' pool ' + live.spec.pool if live.spec.pool else ''}:"
                        f" {pod.unschedulable}",
                    )  # fmt: skip
                    return
            if now - last_progress >= settings.simulation_progress_interval_seconds:
                progress = self._progress(live)
                key = (
                    progress.steps_done, progress.steps_total,
                    progress.pods_pending, progress.copies_done,
                )  # fmt: skip
                if key != sent_progress:
                    self._publish_progress(live, progress)
                    sent_progress = key
                last_progress = now
            if live.dirty and now - last_checkpoint >= settings.simulation_checkpoint_seconds:
                await self._checkpoint(live)
                last_checkpoint = now
            live.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_wait(live, now)):
                    await live.wake.wait()

    def _next_wait(self, live: Live, now: float) -> float:
        wait = 0.5
        due = self._next_due(live)
        if due is not None:
            wait = min(wait, max(0.0, due - now))
        return wait

    def _due_at(self, live: Live, k: int) -> float:
        start = float(live.record.state.get("wall_start", 0.0))
        return start + k * live.spec.spacing_seconds / live.time_scale

    def _next_due(self, live: Live) -> float | None:
        k = int(live.record.state.get("submitted", 0))
        if k >= len(live.simulation.dry_run_ids):
            return None
        return self._due_at(live, k)

    def _all_submitted(self, live: Live) -> bool:
        return int(live.record.state.get("submitted", 0)) >= len(live.simulation.dry_run_ids)

    async def _submit_due(self, live: Live, now: float) -> None:
        k = int(live.record.state.get("submitted", 0))
        due = [
            j for j in range(k, len(live.simulation.dry_run_ids)) if self._due_at(live, j) <= now
        ][:SUBMIT_CONCURRENCY]
        if not due:
            return
        for attempt in range(SUBMIT_ATTEMPTS):
            try:
                await asyncio.gather(*(self._submit(live, j) for j in due))
                break
            except ServiceError as error:
                # A create retried with the same id is the same run (the
                # submitter answers with it), so trying again is safe.
                if attempt == SUBMIT_ATTEMPTS - 1 or isinstance(error, InvalidInputError):
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
        live.record.state["submitted"] = due[-1] + 1
        live.dirty = True

    def _runs_ended(self, live: Live) -> bool:
        return all(
            live.workflows.get(run, ("", ""))[0] in (*TERMINAL_WORKFLOW_PHASES, "Deleted")
            for run in live.simulation.dry_run_ids
        )

    async def _settle(self, live: Live) -> None:
        """Waits (briefly) for the last pods' finish to arrive."""
        deadline = time.time() + SETTLE_SECONDS
        while time.time() < deadline and any(
            p.node and p.finished is None for p in live.pods.values()
        ):
            live.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await live.wake.wait()

    def _outcome(self, live: Live) -> tuple[events_pb2.SimulationPhase.ValueType, str]:
        failed = [
            f"{run} {phase}{': ' + message if message else ''}"
            for run in live.simulation.dry_run_ids
            for phase, message in [live.workflows.get(run, ("", ""))]
            if phase != "Succeeded"
        ]
        if not failed:
            return events_pb2.SIMULATION_PHASE_SUCCEEDED, (
                f"all {len(live.simulation.dry_run_ids)} runs succeeded"
            )
        shown = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
        return events_pb2.SIMULATION_PHASE_FAILED, f"{len(failed)} runs did not succeed: {shown}"

    def _blocked(self, live: Live) -> tuple[PodObservation, bool] | None:
        """A pod the scheduler refused while nothing of the simulation runs
        or is about to (all copies created, no pod bound and unfinished);
        and whether it would fit an empty node of the pool."""
        if not self._all_submitted(live):
            return None
        waiting = [p for p in live.pods.values() if p.pending and p.unschedulable]
        if not waiting:
            return None
        if any(p.node and p.finished is None for p in live.pods.values()):
            return None
        pod = waiting[0]
        fits = any(
            pod.cpu_request <= cpu and pod.memory_request <= memory and count > 0
            for cpu, memory, count, _ in live.pools.values()
        )
        return pod, fits

    async def _stop_runs(self, live: Live) -> None:
        for run in live.simulation.dry_run_ids[: int(live.record.state.get("submitted", 0))]:
            if live.workflows.get(run, ("", ""))[0] in TERMINAL_WORKFLOW_PHASES:
                continue
            try:
                await called(
                    f"stopping {run}",
                    self._submitter.StopDryRun(
                        workflow_submitter_pb2.StopDryRunRequest(
                            caller=live.record.owner, dry_run_id=run, terminate=True
                        ),
                        timeout=self._timeout,
                    ),
                )
            except ServiceError as error:
                log.warning("could not stop a simulated run", run=run, error=error.message)

    # Progress, checkpoints, the end

    def _timeline(self, live: Live) -> Timeline:
        pools = [
            Pool(name, cpu * count, memory * count, cpu, memory, pods)
            for name, (cpu, memory, count, pods) in sorted(live.pools.items())
        ]
        node_pools = {p.node: self._pool_of(live, p.node) for p in live.pods.values() if p.node}
        return replay(
            list(live.pods.values()),
            predecessors=self._predecessors(live),
            seconds={name: f.seconds for name, f in live.figures.items()},
            time_scale=live.time_scale,
            copies=live.copies,
            node_pools=node_pools,
            pools=pools,
            wall_start=live.record.state.get("wall_start"),
        )

    def _predecessors(self, live: Live) -> dict[str, set[str]]:
        """Pod name -> the pods before it, from the runs' Argo graphs."""
        pod_names = {(p.workflow, p.node_id): p.name for p in live.pods.values() if p.node_id}
        found: dict[str, set[str]] = {}
        for run, graph in live.graphs.items():
            for node_id, before in pod_predecessors(graph).items():
                name = pod_names.get((run, node_id))
                named = {pod_names.get((run, b)) for b in before}
                if name is not None and None not in named:
                    found[name] = {n for n in named if n is not None}
        return found

    def _pool_of(self, live: Live, node: str) -> str:
        # Node names are vc-<owner>-<cluster>-<pool>-<i> (shared decision).
        prefix = f"-{live.spec.virtual_cluster_id}-"
        rest = node.split(prefix, 1)[-1] if prefix in node else ""
        pool = rest.rsplit("-", 1)[0] if rest else ""
        return pool if pool in live.pools else ""

    def _simulated_seconds(self, live: Live) -> float:
        """How far the replayed timeline reaches. A replay grows with the
        simulation's pods and nodes: while running it is redone at most
        once per REPLAY_SHARE of the time since the last one took."""
        now = time.monotonic()
        if now - live.replayed_at >= live.replay_seconds / REPLAY_SHARE:
            started = time.monotonic()
            live.simulated_seconds = self._timeline(live).makespan
            live.replay_seconds = time.monotonic() - started
            live.replayed_at = time.monotonic()
        return live.simulated_seconds

    def _progress(self, live: Live) -> pb.SimulationProgress:
        pods = live.pods.values()
        simulated = self._simulated_seconds(live)
        done_runs = sum(
            1
            for run in live.simulation.dry_run_ids
            if live.workflows.get(run, ("", ""))[0] in TERMINAL_WORKFLOW_PHASES
        )
        progress = pb.SimulationProgress(
            simulated_seconds=simulated,
            steps_done=sum(1 for p in pods if p.finished is not None),
            steps_total=max(len(live.pods), len(live.figures) * len(live.simulation.dry_run_ids)),
            pods_pending=sum(1 for p in pods if p.pending),
            copies_done=done_runs,
        )
        live.simulation.progress.CopyFrom(progress)
        return progress

    def _publish_progress(self, live: Live, progress: pb.SimulationProgress) -> None:
        sequence = int(live.record.state.get("progress_sequence", 0)) + 1
        live.record.state["progress_sequence"] = sequence
        sim = live.simulation
        self._publisher.publish_soon(
            events_pb2.SimulationProgressed(
                meta=contract.meta(f"sim:{sim.id}:{sequence}", SOURCE),
                simulation_id=sim.id, project_id=sim.project_id, owner=sim.owner,
                simulated_seconds=progress.simulated_seconds, steps_done=progress.steps_done,
                steps_total=progress.steps_total, pods_pending=progress.pods_pending,
                copies_done=progress.copies_done,
            )
        )  # fmt: skip

    async def _checkpoint(self, live: Live) -> None:
        live.record.observations = dump(live.pods)
        live.dirty = False
        try:
            await self.records.write(live.record)
        except ConflictError:
            # Someone else wrote it (a delete racing us): take its version.
            fresh = await self.records.read(live.record.owner, live.simulation.id)
            live.record.resource_version = fresh.resource_version
            await self.records.write(live.record)

    async def _end(
        self, live: Live, phase: events_pb2.SimulationPhase.ValueType, message: str
    ) -> None:
        """Writes the report, then the record, then tells: a reader that
        sees the simulation ended finds its report."""
        sim = live.simulation
        timeline = self._timeline(live)
        self._progress(live)
        sim.progress.simulated_seconds = timeline.makespan
        recovered = sum(1 for p in live.pods.values() if p.from_status)
        if live.resumed:
            message += "; resumed after the scaler restarted" + (
                f" ({recovered} steps' times are from their pods' own timestamps, whole seconds)"
                if recovered
                else ""
            )
        ended = pb.Simulation()
        ended.CopyFrom(sim)
        ended.phase = phase
        report = build(ended, timeline, live.figures, live.time_scale, self.energy)
        try:
            await self.reports.put(sim.owner, report)
            live.record.state["report"] = True
        except ServiceError as error:
            message += f"; its report could not be written: {error.message}"
            live.record.state["report"] = False
        _now_timestamp(sim.finished_at)
        sim.message = message
        sim.phase = phase
        await self._checkpoint(live)
        self._unregister(live)
        # A large simulation's observations and replay leave the heap
        # fragmented: hand what is free back to the OS.
        gc.collect()
        release_free_memory()
        self._publisher.publish_soon(
            events_pb2.SimulationEnded(
                meta=contract.meta(f"sim-ended:{sim.id}", SOURCE),
                simulation_id=sim.id, project_id=sim.project_id, owner=sim.owner,
                phase=phase, message=message, makespan_seconds=timeline.makespan,
            )
        )  # fmt: skip
        log.info(
            "simulation ended", simulation=sim.id, phase=Phase.Name(phase),
            makespan=round(timeline.makespan, 3), message=message,
        )  # fmt: skip

    # Reads and commands

    def _message(self, live: Live) -> pb.Simulation:
        found = pb.Simulation()
        found.CopyFrom(live.simulation)
        return found

    async def _find(self, caller: str, simulation_id: str) -> pb.Simulation:
        owner = checked_caller(caller)
        dns_label("simulation id", simulation_id)
        live = self._live.get((owner, simulation_id))
        if live is not None:
            return self._message(live)
        try:
            record = await self.records.read(owner, simulation_id)
        except NotFoundError:
            raise NotFoundError(f"simulation {simulation_id} not found") from None
        if record.owner != owner:
            raise NotFoundError(f"simulation {simulation_id} not found")
        return record.simulation

    async def get_simulation(self, request: pb.SimulationRef) -> pb.Simulation:
        return await self._find(request.caller, request.id)

    async def list_simulations(
        self, request: pb.ListSimulationsRequest
    ) -> pb.ListSimulationsResponse:
        owner = checked_caller(request.caller)
        if request.project_id:
            dns_label("project id", request.project_id)
        found = []
        for record in await self.records.matching(owner_selector(owner, request.project_id)):
            if record.owner != owner:
                continue
            live = self._live.get((owner, record.simulation.id))
            found.append(self._message(live) if live is not None else record.simulation)
        found.sort(key=lambda s: (s.created_at.ToNanoseconds(), s.id))
        return pb.ListSimulationsResponse(simulations=found)

    async def cancel_simulation(self, request: pb.SimulationRef) -> pb.Simulation:
        simulation = await self._find(request.caller, request.id)
        live = self._live.get((simulation.owner, simulation.id))
        if live is None:
            return simulation
        live.cancel_reason = "cancelled by its owner"
        live.wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout):
                await live.ended.wait()
        return self._message(live)

    async def delete_simulation(self, request: pb.SimulationRef) -> pb.DeleteSimulationResponse:
        simulation = await self.cancel_simulation(request)
        owner = simulation.owner
        for run in simulation.dry_run_ids:
            with contextlib.suppress(NotFoundError):
                await called(
                    f"deleting {run}",
                    self._submitter.DeleteDryRun(
                        workflow_submitter_pb2.DryRunRef(caller=owner, dry_run_id=run),
                        timeout=self._timeout,
                    ),
                )
        await self.reports.delete(owner, simulation.id)
        await self.records.delete(owner, simulation.id)
        return pb.DeleteSimulationResponse(deleted=True)

    async def get_simulation_report(self, request: pb.SimulationRef) -> pb.SimulationReport:
        simulation = await self._find(request.caller, request.id)
        if simulation.phase not in TERMINAL:
            raise NotFoundError(f"simulation {simulation.id} has no report until it ends")
        try:
            return await self.reports.get(simulation.owner, simulation.id)
        except NotFoundError:
            raise NotFoundError(
                f"simulation {simulation.id} has no report: {simulation.message}"
            ) from None

    async def compare_simulations(
        self, request: pb.CompareSimulationsRequest
    ) -> pb.SimulationComparison:
        a = await self.get_simulation_report(
            pb.SimulationRef(caller=request.caller, id=request.simulation_id)
        )
        other = request.WhichOneof("other")
        if other == "other_simulation_id":
            b = await self.get_simulation_report(
                pb.SimulationRef(caller=request.caller, id=request.other_simulation_id)
            )
            side_b = _per_template(b.steps)
            name_b, makespan_b, energy_b = b.simulation_id, b.makespan_seconds, b.energy_kwh
        elif other == "reference_dry_run_id":
            dns_label("reference dry run id", request.reference_dry_run_id)
            name_b = request.reference_dry_run_id
            side_b, makespan_b, energy_b = await self._measured(request.caller, name_b)
        else:
            raise InvalidInputError(
                "compare with another simulation or a reference dry run: give one"
            )
        side_a = _per_template(a.steps)
        steps = [
            pb.StepComparison(
                step=name,
                run_seconds_a=side_a.get(name, (0.0, 0.0))[0],
                run_seconds_b=side_b.get(name, (0.0, 0.0))[0],
                queued_seconds_a=side_a.get(name, (0.0, 0.0))[1],
                queued_seconds_b=side_b.get(name, (0.0, 0.0))[1],
            )
            for name in sorted(set(side_a) | set(side_b))
        ]
        return pb.SimulationComparison(
            a=a.simulation_id, b=name_b,
            makespan_seconds_a=a.makespan_seconds, makespan_seconds_b=makespan_b,
            steps=steps, energy_kwh_a=a.energy_kwh, energy_kwh_b=energy_b,
        )  # fmt: skip

    async def _measured(
        self, caller: str, dry_run_id: str
    ) -> tuple[dict[str, tuple[float, float]], float, float]:
        """A dry run's measured per-template run seconds, its duration and energy."""
        owner = checked_caller(caller)
        run = await timing.dry_run(self._watcher, owner, dry_run_id, self._timeout)
        report = await called(
            f"report of dry run {dry_run_id}",
            self._collector.GetRunReport(
                metrics_collector_pb2.DryRunMetricsRef(caller=owner, dry_run_id=dry_run_id),
                timeout=self._timeout,
            ),
        )
        templates = {n.id: n.template_name for n in run.nodes if n.type == "Pod"}
        durations: dict[str, list[float]] = {}
        for step in report.summary.steps:
            name = templates.get(step.node_id)
            if name:
                durations.setdefault(name, []).append(step.summary.duration_seconds)
        per_template = {name: (fmean(values), 0.0) for name, values in durations.items()}
        summary = report.summary.run
        return per_template, summary.duration_seconds, summary.energy_kwh


def _per_template(steps: Iterable[pb.SimulatedStep]) -> dict[str, tuple[float, float]]:
    grouped: dict[str, list[pb.SimulatedStep]] = {}
    for step in steps:
        grouped.setdefault(step.template_name or step.display_name, []).append(step)
    return {
        name: (fmean(s.run_seconds for s in found), fmean(s.queued_seconds for s in found))
        for name, found in grouped.items()
    }


def _pools(record: ClusterRecord, pool: str) -> dict[str, tuple[float, float, int, int]]:
    cluster = record.id
    chosen = [p for p in record.pools if not pool or p.name == pool]
    if not chosen:
        raise InvalidInputError(
            f"virtual cluster {cluster} has no pool {pool!r}"
            f" (its pools: {', '.join(p.name for p in record.pools)})"
        )
    return {p.name: (quantity(p.cpu), quantity(p.memory), p.count, p.pods) for p in chosen}
