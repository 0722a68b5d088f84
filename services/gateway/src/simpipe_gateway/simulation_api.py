"""GraphQL queries, mutations and a subscription on simulations, over the
kwok-scaler: copies of a project's pipeline run on a virtual cluster, each
step taking the duration and usage of a timing source (a reference dry run,
a scaling law or explicit figures). Each copy is an ordinary dry run, so the
dry run queries and subscriptions follow it too.

Whether a simulation can run as asked (the template, the cluster and pool,
the reference runs, the time scale's limit) is the scaler's to judge; the
gateway bounds lists and refuses what can never be right (negative numbers,
no timing source or two) before calling it."""

from collections.abc import AsyncGenerator

import strawberry

from simpipe.v1 import events_pb2, kwok_scaler_pb2
from simpipe_events import contract
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.dry_run_api import ParameterInput
from simpipe_gateway.errors import graphql_error, rpc
from simpipe_gateway.input_bounds import bounded_list
from simpipe_gateway.scalars import iso
from simpipe_gateway.simulation_feed import SimulationEvent
from simpipe_gateway.simulation_types import (
    Simulation,
    SimulationComparison,
    SimulationProgress,
    SimulationReport,
    SimulationUpdate,
    simulation_phase,
    simulation_report,
    to_comparison,
    to_simulation,
)
from simpipe_gateway.subscription_guard import while_authorized
from simpipe_gateway.virtual_cluster_api import non_negative

pb = kwok_scaler_pb2
INVALID = "INPUT_VALIDATION_ERROR"
# Output parameters one step may report.
MAX_OUTPUT_PARAMETERS = 64


@strawberry.input(description="What a step takes, in simulated seconds and real units.")
class StepFiguresInput:
    step: str = strawberry.field(description="The step's template name.")
    seconds: float
    cpu_cores: float = 0.0
    memory_bytes: float = 0.0
    network_receive_bytes_per_second: float = 0.0
    network_transmit_bytes_per_second: float = 0.0
    fs_read_bytes_per_second: float = 0.0
    fs_write_bytes_per_second: float = 0.0
    output_parameters: list[ParameterInput] | None = strawberry.field(
        default=None,
        description="So `when` and loops go as given; the template's defaults otherwise.",
    )
    exit_code: int = strawberry.field(default=0, description="Non-zero fails the step.")


@strawberry.input(
    description="A scaling law per step, fitted from dry runs at several input sizes."
)
class ScalingLawInput:
    dry_run_ids: list[str]
    input_size_bytes: float = strawberry.field(description="Where the laws are evaluated.")
    regression_method: str | None = strawberry.field(
        default=None, description="linear (the default), power or logarithmic."
    )


@strawberry.input(description="Where each step's duration and usage come from: exactly one source.")
class TimingInput:
    reference_dry_run_id: str | None = strawberry.field(
        default=None, description="A dry run that really ran: its measured per-step figures."
    )
    scaling: ScalingLawInput | None = None
    explicit: list[StepFiguresInput] | None = None
    duration_factor: float | None = strawberry.field(
        default=None, description="Multiplies every step's duration (e.g. 4 for 4x the data)."
    )


@strawberry.input
class StartSimulationInput:
    project_id: str
    workflow_template_name: str
    virtual_cluster_id: str
    timing: TimingInput
    simulation_id: str | None = strawberry.field(
        default=None, description="A DNS-1123 label; made up when not given."
    )
    parameters: list[ParameterInput] | None = None
    pool: str | None = strawberry.field(default=None, description="One pool of the cluster.")
    copies: int | None = strawberry.field(default=None, description="Runs of the pipeline (1).")
    spacing_seconds: float | None = strawberry.field(
        default=None, description="Simulated seconds between the copies' starts (0)."
    )
    time_scale: float | None = strawberry.field(
        default=None,
        description="Simulated seconds per wall-clock second (1), within the scaler's limit.",
    )


def _figures(given: StepFiguresInput) -> pb.StepFigures:
    if not given.step:
        raise graphql_error("a step's figures need its template name (step)", INVALID)
    for what, value in (
        ("seconds", given.seconds), ("cpuCores", given.cpu_cores),
        ("memoryBytes", given.memory_bytes),
        ("networkReceiveBytesPerSecond", given.network_receive_bytes_per_second),
        ("networkTransmitBytesPerSecond", given.network_transmit_bytes_per_second),
        ("fsReadBytesPerSecond", given.fs_read_bytes_per_second),
        ("fsWriteBytesPerSecond", given.fs_write_bytes_per_second),
    ):  # fmt: skip
        non_negative(value, f"step {given.step!r}: {what}")
    outputs = bounded_list(given.output_parameters, "outputParameters", MAX_OUTPUT_PARAMETERS)
    return pb.StepFigures(
        step=given.step, seconds=given.seconds, cpu_cores=given.cpu_cores,
        memory_bytes=given.memory_bytes,
        network_receive_bytes_per_second=given.network_receive_bytes_per_second,
        network_transmit_bytes_per_second=given.network_transmit_bytes_per_second,
        fs_read_bytes_per_second=given.fs_read_bytes_per_second,
        fs_write_bytes_per_second=given.fs_write_bytes_per_second,
        output_parameters={p.name: p.value for p in outputs}, exit_code=given.exit_code,
    )  # fmt: skip


def timing_source(given: TimingInput) -> pb.TimingSource:
    sources = [
        s for s in (given.reference_dry_run_id, given.scaling, given.explicit) if s is not None
    ]
    if len(sources) != 1:
        raise graphql_error(
            "timing takes exactly one of referenceDryRunId, scaling and explicit", INVALID
        )
    non_negative(given.duration_factor, "durationFactor")
    timing = pb.TimingSource(duration_factor=given.duration_factor or 0.0)
    if given.reference_dry_run_id is not None:
        timing.reference_dry_run_id = given.reference_dry_run_id
    elif given.scaling is not None:
        scaling = given.scaling
        non_negative(scaling.input_size_bytes, "scaling.inputSizeBytes")
        timing.scaling.CopyFrom(
            pb.ScalingLawSource(
                dry_run_ids=bounded_list(scaling.dry_run_ids, "scaling.dryRunIds"),
                input_size_bytes=scaling.input_size_bytes,
                regression_method=scaling.regression_method or "",
            )
        )
    else:
        steps = [_figures(s) for s in bounded_list(given.explicit, "explicit")]
        if len({s.step for s in steps}) != len(steps):
            raise graphql_error("explicit names a step twice", INVALID)
        timing.explicit.CopyFrom(pb.ExplicitFigures(steps=steps))
    return timing


async def start_request(
    info: GatewayInfo, given: StartSimulationInput
) -> pb.StartSimulationRequest:
    non_negative(given.copies, "copies")
    non_negative(given.spacing_seconds, "spacingSeconds")
    non_negative(given.time_scale, "timeScale")
    timing = timing_source(given.timing)
    parameters = bounded_list(given.parameters, "parameters")
    return pb.StartSimulationRequest(
        caller=await caller(info),
        simulation_id=given.simulation_id or "",
        project_id=given.project_id,
        workflow_template_name=given.workflow_template_name,
        parameters={p.name: p.value for p in parameters},
        virtual_cluster_id=given.virtual_cluster_id,
        pool=given.pool or "",
        timing=timing,
        copies=given.copies or 0,
        spacing_seconds=given.spacing_seconds or 0.0,
        time_scale=given.time_scale or 0.0,
    )


async def _ref(info: GatewayInfo, simulation_id: str) -> pb.SimulationRef:
    return pb.SimulationRef(caller=await caller(info), id=simulation_id)


@strawberry.type
class SimulationQuery:
    @strawberry.field(description="The caller's simulations, of one project or of all.")  # type: ignore[untyped-decorator]
    async def simulations(
        self, info: GatewayInfo, project_id: str | None = None
    ) -> list[Simulation]:
        found = await rpc(
            gateway(info).scaler.ListSimulations,
            pb.ListSimulationsRequest(caller=await caller(info), project_id=project_id or ""),
        )
        return [to_simulation(s) for s in found.simulations]

    @strawberry.field
    async def simulation(self, info: GatewayInfo, id: str) -> Simulation:
        return to_simulation(await rpc(gateway(info).scaler.GetSimulation, await _ref(info, id)))

    @strawberry.field(description="The report of an ended simulation; null until it has ended.")  # type: ignore[untyped-decorator]
    async def simulation_report(self, info: GatewayInfo, id: str) -> SimulationReport | None:
        return await simulation_report(info, id)

    @strawberry.field(
        description="Simulation a beside simulation b, or beside the dry run referenceDryRunId"
        " (measured): exactly one of the two."
    )  # type: ignore[untyped-decorator]
    async def compare_simulations(
        self,
        info: GatewayInfo,
        a: str,
        b: str | None = None,
        reference_dry_run_id: str | None = None,
    ) -> SimulationComparison:
        if (b is None) == (reference_dry_run_id is None):
            raise graphql_error("compare with exactly one of b and referenceDryRunId", INVALID)
        request = pb.CompareSimulationsRequest(caller=await caller(info), simulation_id=a)
        if b is not None:
            request.other_simulation_id = b
        else:
            request.reference_dry_run_id = reference_dry_run_id or ""
        return to_comparison(await rpc(gateway(info).scaler.CompareSimulations, request))


@strawberry.type
class SimulationMutation:
    @strawberry.mutation(
        description="Starts copies of the project's pipeline on the virtual cluster."
    )  # type: ignore[untyped-decorator]
    async def start_simulation(self, info: GatewayInfo, input: StartSimulationInput) -> Simulation:
        request = await start_request(info, input)
        return to_simulation(await rpc(gateway(info).scaler.StartSimulation, request))

    @strawberry.mutation(
        description="Stops a simulation that has not ended; its runs are terminated."
    )  # type: ignore[untyped-decorator]
    async def cancel_simulation(self, info: GatewayInfo, id: str) -> Simulation:
        return to_simulation(await rpc(gateway(info).scaler.CancelSimulation, await _ref(info, id)))

    @strawberry.mutation
    async def delete_simulation(self, info: GatewayInfo, id: str) -> bool:
        done = await rpc(gateway(info).scaler.DeleteSimulation, await _ref(info, id))
        return done.deleted


def state_update(found: Simulation) -> SimulationUpdate:
    """Where the simulation is when a subscription begins."""
    return SimulationUpdate(
        simulation_id=found.id, project_id=found.project_id or None, kind="state",
        phase=found.phase, message=found.message, progress=found.progress,
        makespan_seconds=None, occurred_at=None,
    )  # fmt: skip


def to_simulation_update(event: SimulationEvent) -> SimulationUpdate:
    ended = event.ended
    if ended is not None:
        return SimulationUpdate(
            simulation_id=ended.simulation_id, project_id=ended.project_id or None, kind="ended",
            phase=simulation_phase(ended.phase), message=ended.message or None, progress=None,
            makespan_seconds=ended.makespan_seconds, occurred_at=iso(ended.meta.occurred_at),
        )  # fmt: skip
    progressed = event.progressed
    assert progressed is not None
    return SimulationUpdate(
        simulation_id=progressed.simulation_id, project_id=progressed.project_id or None,
        kind="progress", phase=simulation_phase(events_pb2.SIMULATION_PHASE_RUNNING),
        message=None,
        progress=SimulationProgress(
            simulated_seconds=progressed.simulated_seconds, steps_done=progressed.steps_done,
            steps_total=progressed.steps_total, pods_pending=progressed.pods_pending,
            copies_done=progressed.copies_done,
        ),
        makespan_seconds=None, occurred_at=iso(progressed.meta.occurred_at),
    )  # fmt: skip


@strawberry.type
class SimulationSubscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="The simulation's state now, then its progress as it goes, until it ends."
        " Its copies' runs and steps: dryRunUpdates of each of its dryRunIds."
    )
    async def simulation_progress(
        self, info: GatewayInfo, simulation_id: str
    ) -> AsyncGenerator[SimulationUpdate, None]:
        owner = await caller(info)
        feed = gateway(info).simulation_feed
        try:
            listener = feed.listen(owner, simulation_id)
        except contract.InvalidSubjectTokenError:
            # No simulation has such an id.
            raise graphql_error(
                f"simulation {simulation_id[:80]!r} not found", "NOT_FOUND_ERROR"
            ) from None
        try:
            # Registered first: nothing between this read and the live events is lost.
            found = to_simulation(
                await rpc(gateway(info).scaler.GetSimulation, await _ref(info, simulation_id))
            )
            yield state_update(found)
            if found.phase.value in _TERMINAL:
                return
            async for event in while_authorized(info, feed.events(listener)):
                yield to_simulation_update(event)
        finally:
            feed.forget(listener)


_TERMINAL = frozenset(simulation_phase(p).value for p in contract.TERMINAL_SIMULATION_PHASES)
