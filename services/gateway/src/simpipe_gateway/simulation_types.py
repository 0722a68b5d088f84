"""GraphQL types of simulations, filled from the kwok-scaler's messages: a
simulation with what was asked of it and how far it got, its durable report,
and two simulations (or one and a dry run) side by side."""

import asyncio
from enum import Enum

import strawberry

from simpipe.v1 import argo_watcher_pb2, events_pb2, kwok_scaler_pb2
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import rpc_or_none
from simpipe_gateway.scalars import iso
from simpipe_gateway.types import DryRun, Project, project_by_id, to_dry_run

pb = kwok_scaler_pb2


@strawberry.enum
class SimulationPhase(Enum):
    Pending = "Pending"
    Running = "Running"
    Succeeded = "Succeeded"
    Failed = "Failed"
    Cancelled = "Cancelled"
    Error = "Error"
    Unknown = "Unknown"


def simulation_phase(phase: int) -> SimulationPhase:
    """The contract's phase by name (SIMULATION_PHASE_SUCCEEDED: Succeeded)."""
    if not phase:
        return SimulationPhase.Unknown
    name = events_pb2.SimulationPhase.Name(phase)  # type: ignore[arg-type]
    return SimulationPhase(name.removeprefix("SIMULATION_PHASE_").capitalize())


@strawberry.type
class Parameter:
    name: str
    value: str


@strawberry.type(description="What a step takes, in simulated seconds and real units.")
class StepFigures:
    step: str = strawberry.field(description="The step's template name.")
    seconds: float
    cpu_cores: float
    memory_bytes: float
    network_receive_bytes_per_second: float
    network_transmit_bytes_per_second: float
    fs_read_bytes_per_second: float
    fs_write_bytes_per_second: float
    output_parameters: list[Parameter]
    exit_code: int


@strawberry.type(description="Dry runs at several input sizes, fitted per step.")
class ScalingLaw:
    dry_run_ids: list[str]
    input_size_bytes: float
    regression_method: str


@strawberry.type(description="Where each step's duration and usage came from (one of three).")
class Timing:
    reference_dry_run_id: str | None
    scaling: ScalingLaw | None
    explicit: list[StepFigures] | None
    duration_factor: float


@strawberry.type(description="What was asked of a simulation.")
class SimulationSpec:
    workflow_template_name: str
    parameters: list[Parameter]
    virtual_cluster_id: str
    pool: str | None
    timing: Timing
    copies: int
    spacing_seconds: float
    time_scale: float


@strawberry.type
class SimulationProgress:
    simulated_seconds: float = strawberry.field(description="Since the simulation started.")
    steps_done: int
    steps_total: int
    pods_pending: int
    copies_done: int


@strawberry.type(description="One step of one copy, in simulated seconds from the start.")
class SimulatedStep:
    copy: int
    dry_run_id: str
    node_id: str
    display_name: str
    template_name: str
    node_name: str | None = strawberry.field(
        description="The virtual node; null if never scheduled."
    )
    pool: str | None
    queued_seconds: float = strawberry.field(
        description="Waiting for a node, after its dependencies were done."
    )
    run_seconds: float
    started_seconds: float
    finished_seconds: float
    phase: str = strawberry.field(description="Succeeded, Failed, Error or Unschedulable.")
    cpu_cores: float
    memory_bytes: float


@strawberry.type(description="A pool's requested share of CPU and memory over simulated time.")
class PoolUtilisation:
    pool: str
    times: list[float]
    cpu: list[float]
    memory: list[float]
    mean_cpu: float
    peak_cpu: float


@strawberry.type
class UnschedulableStep:
    dry_run_id: str
    display_name: str
    reason: str = strawberry.field(description="The scheduler's words.")


@strawberry.type(description="The durable report of an ended simulation (JSON and Parquet in S3).")
class SimulationReport:
    simulation_id: str
    phase: SimulationPhase
    makespan_seconds: float
    orchestration_overhead_seconds: float = strawberry.field(
        description="The runs' wall-clock span times the time scale, less the makespan: what"
        " Argo's reactions and pod creation added, left out of the simulated times."
    )
    steps: list[SimulatedStep]
    pools: list[PoolUtilisation]
    peak_pods_pending: int
    unschedulable: list[UnschedulableStep]
    energy_kwh: float
    carbon_g_co2: float
    time_scale: float
    url: str = strawberry.field(description="A presigned URL of the report as JSON.")
    parquet_url: str
    created_at: str | None


@strawberry.type(description="A simulation: copies of a pipeline run on a virtual cluster.")
class Simulation:
    id: str
    project_id: str
    phase: SimulationPhase
    message: str | None = strawberry.field(description="Why it ended as it did.")
    spec: SimulationSpec
    dry_run_ids: list[str] = strawberry.field(
        description="The copies' runs: dry runs, with their usual queries and subscriptions."
    )
    progress: SimulationProgress
    created_at: str | None
    finished_at: str | None

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Project | None:
        return await project_by_id(info, self.project_id) if self.project_id else None

    @strawberry.field(description="The copies' dry runs that exist now.")  # type: ignore[untyped-decorator]
    async def dry_runs(self, info: GatewayInfo) -> list[DryRun]:
        who = await caller(info)
        watcher = gateway(info).watcher
        found = await asyncio.gather(
            *(
                rpc_or_none(
                    watcher.GetDryRun, argo_watcher_pb2.GetDryRunRequest(caller=who, dry_run_id=i)
                )
                for i in self.dry_run_ids
            )
        )
        return [to_dry_run(run) for run in found if run is not None]

    @strawberry.field(description="The report, once the simulation has ended; null until then.")  # type: ignore[untyped-decorator]
    async def report(self, info: GatewayInfo) -> SimulationReport | None:
        return await simulation_report(info, self.id)


async def simulation_report(info: GatewayInfo, simulation_id: str) -> SimulationReport | None:
    found = await rpc_or_none(
        gateway(info).scaler.GetSimulationReport,
        pb.SimulationRef(caller=await caller(info), id=simulation_id),
    )
    return None if found is None else to_report(found)


@strawberry.type(description="A step's mean run and queueing seconds over each side's copies.")
class StepComparison:
    step: str
    run_seconds_a: float
    run_seconds_b: float
    queued_seconds_a: float
    queued_seconds_b: float


@strawberry.type(description="Two simulations, or a simulation and a dry run (b), side by side.")
class SimulationComparison:
    a: str
    b: str
    makespan_seconds_a: float
    makespan_seconds_b: float
    steps: list[StepComparison]
    energy_kwh_a: float
    energy_kwh_b: float


def _parameters(given: dict[str, str]) -> list[Parameter]:
    return [Parameter(name=k, value=v) for k, v in sorted(given.items())]


def to_figures(message: pb.StepFigures) -> StepFigures:
    return StepFigures(
        step=message.step,
        seconds=message.seconds,
        cpu_cores=message.cpu_cores,
        memory_bytes=message.memory_bytes,
        network_receive_bytes_per_second=message.network_receive_bytes_per_second,
        network_transmit_bytes_per_second=message.network_transmit_bytes_per_second,
        fs_read_bytes_per_second=message.fs_read_bytes_per_second,
        fs_write_bytes_per_second=message.fs_write_bytes_per_second,
        output_parameters=_parameters(dict(message.output_parameters)),
        exit_code=message.exit_code,
    )


def to_timing(message: pb.TimingSource) -> Timing:
    source = message.WhichOneof("source")
    scaling = message.scaling
    return Timing(
        reference_dry_run_id=message.reference_dry_run_id
        if source == "reference_dry_run_id"
        else None,
        scaling=ScalingLaw(
            dry_run_ids=list(scaling.dry_run_ids),
            input_size_bytes=scaling.input_size_bytes,
            regression_method=scaling.regression_method,
        )
        if source == "scaling"
        else None,
        explicit=[to_figures(s) for s in message.explicit.steps] if source == "explicit" else None,
        duration_factor=message.duration_factor,
    )


def to_simulation(message: pb.Simulation) -> Simulation:
    spec, progress = message.spec, message.progress
    return Simulation(
        id=message.id,
        project_id=message.project_id,
        phase=simulation_phase(message.phase),
        message=message.message or None,
        spec=SimulationSpec(
            workflow_template_name=spec.workflow_template_name,
            parameters=_parameters(dict(spec.parameters)),
            virtual_cluster_id=spec.virtual_cluster_id,
            pool=spec.pool or None,
            timing=to_timing(spec.timing),
            copies=spec.copies,
            spacing_seconds=spec.spacing_seconds,
            time_scale=spec.time_scale,
        ),
        dry_run_ids=list(message.dry_run_ids),
        progress=SimulationProgress(
            simulated_seconds=progress.simulated_seconds,
            steps_done=progress.steps_done,
            steps_total=progress.steps_total,
            pods_pending=progress.pods_pending,
            copies_done=progress.copies_done,
        ),
        created_at=iso(message.created_at),
        finished_at=iso(message.finished_at),
    )


def to_report(message: pb.SimulationReport) -> SimulationReport:
    return SimulationReport(
        simulation_id=message.simulation_id,
        phase=simulation_phase(message.phase),
        makespan_seconds=message.makespan_seconds,
        orchestration_overhead_seconds=message.orchestration_overhead_seconds,
        steps=[
            SimulatedStep(
                copy=s.copy,
                dry_run_id=s.dry_run_id,
                node_id=s.node_id,
                display_name=s.display_name,
                template_name=s.template_name,
                node_name=s.node_name or None,
                pool=s.pool or None,
                queued_seconds=s.queued_seconds,
                run_seconds=s.run_seconds,
                started_seconds=s.started_seconds,
                finished_seconds=s.finished_seconds,
                phase=s.phase,
                cpu_cores=s.cpu_cores,
                memory_bytes=s.memory_bytes,
            )
            for s in message.steps
        ],
        pools=[
            PoolUtilisation(
                pool=p.pool,
                times=list(p.times),
                cpu=list(p.cpu),
                memory=list(p.memory),
                mean_cpu=p.mean_cpu,
                peak_cpu=p.peak_cpu,
            )
            for p in message.pools
        ],
        peak_pods_pending=message.peak_pods_pending,
        unschedulable=[
            UnschedulableStep(dry_run_id=u.dry_run_id, display_name=u.display_name, reason=u.reason)
            for u in message.unschedulable
        ],
        energy_kwh=message.energy_kwh,
        carbon_g_co2=message.carbon_g_co2,
        time_scale=message.time_scale,
        url=message.json_url,
        parquet_url=message.parquet_url,
        created_at=iso(message.created_at),
    )


def to_comparison(message: pb.SimulationComparison) -> SimulationComparison:
    return SimulationComparison(
        a=message.a,
        b=message.b,
        makespan_seconds_a=message.makespan_seconds_a,
        makespan_seconds_b=message.makespan_seconds_b,
        steps=[
            StepComparison(
                step=s.step,
                run_seconds_a=s.run_seconds_a,
                run_seconds_b=s.run_seconds_b,
                queued_seconds_a=s.queued_seconds_a,
                queued_seconds_b=s.queued_seconds_b,
            )
            for s in message.steps
        ],
        energy_kwh_a=message.energy_kwh_a,
        energy_kwh_b=message.energy_kwh_b,
    )


@strawberry.type(description="How a simulation is going, pushed as it changes, until it ends.")
class SimulationUpdate:
    simulation_id: str
    project_id: str | None
    kind: str = strawberry.field(
        description='"state" (where it was when the subscription began), "progress" or "ended".'
    )
    phase: SimulationPhase = strawberry.field(
        description="Running while it progresses; the end's phase when ended."
    )
    message: str | None
    progress: SimulationProgress | None
    makespan_seconds: float | None = strawberry.field(description="When ended.")
    occurred_at: str | None
