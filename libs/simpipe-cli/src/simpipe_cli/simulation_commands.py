"""`simpipe cluster`, `simpipe simulate` and `simpipe compare`: virtual
clusters of KWOK nodes, simulations of a template on them with a timing
model, and two simulations side by side."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from simpipe_cli.documents import DocumentError, key_values
from simpipe_cli.output import emit_json, err, out, phase, table
from simpipe_cli.session import Session, session

if TYPE_CHECKING:
    from simpipe_client.generated import simulation as async_simulation
    from simpipe_client.generated_sync import simulation as sync_simulation

    # The same fields, from the async or the sync generated client.
    SimulationSimulation = (
        async_simulation.SimulationSimulation | sync_simulation.SimulationSimulation
    )

cluster_app = typer.Typer(
    no_args_is_help=True, help="Virtual clusters (KWOK nodes): create, list, delete."
)
simulate_app = typer.Typer(
    no_args_is_help=True, help="Simulations of a template on a virtual cluster."
)


def _pool(spec: str) -> tuple[str, int, str, str]:
    parts = spec.split(":")
    if len(parts) != 4 or not parts[1].isdigit():
        raise DocumentError(
            f"--pool {spec!r}: expected NAME:COUNT:CPU:MEMORY, e.g. small:100:4:16Gi"
        )
    return parts[0], int(parts[1]), parts[2], parts[3]


@cluster_app.command("create")
def cluster_create(
    ctx: typer.Context,
    pool: Annotated[
        list[str],
        typer.Option("--pool", help="NAME:COUNT:CPU:MEMORY, e.g. small:100:4:16Gi (repeatable)."),
    ],
    cluster_id: Annotated[
        str | None, typer.Option("--id", help="Its id (default: generated).")
    ] = None,
) -> None:
    """Creates a virtual cluster; prints its id."""
    from simpipe_client.generated_sync.input_types import CreateVirtualClusterInput, NodePoolInput

    pools = [NodePoolInput(name=n, count=c, cpu=cpu, memory=m) for n, c, cpu, m in map(_pool, pool)]
    with session(ctx).client() as client:
        created = client.create_virtual_cluster(
            CreateVirtualClusterInput(pools=pools, id=cluster_id)
        ).create_virtual_cluster
    session(ctx).answer(created, created.id)


@cluster_app.command("list")
def cluster_list(ctx: typer.Context) -> None:
    """Your virtual clusters and their pools."""
    with session(ctx).client() as client:
        clusters = client.virtual_clusters().virtual_clusters
    if session(ctx).json:
        emit_json(clusters)
        return
    rows = [
        (c.id, p.name, f"{p.ready}/{p.count}", p.cpu, p.memory) for c in clusters for p in c.pools
    ]
    out.print(table(None, ["cluster", "pool", "ready nodes", "cpu", "memory"], rows))


@cluster_app.command("delete")
def cluster_delete(
    ctx: typer.Context, cluster_id: Annotated[str, typer.Argument(help="The cluster's id.")]
) -> None:
    """Deletes a virtual cluster and its nodes."""
    with session(ctx).client() as client:
        client.delete_virtual_cluster(cluster_id)
    session(ctx).answer({"deleted": cluster_id}, f"deleted virtual cluster {cluster_id}")


@simulate_app.command("start")
def simulate_start(
    ctx: typer.Context,
    template: Annotated[str, typer.Argument(help="The WorkflowTemplate to simulate.")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="The virtual cluster's id.")],
    project: Annotated[str, typer.Option("--project", "-p", help="The project's id.")],
    reference: Annotated[
        str | None, typer.Option(help="Steps take as long as in this finished dry run.")
    ] = None,
    duration_factor: Annotated[
        float | None, typer.Option(help="Scale the reference's durations.")
    ] = None,
    param: Annotated[
        list[str], typer.Option("--param", help="A parameter, NAME=VALUE (repeatable).")
    ] = [],  # noqa: B006
    copies: Annotated[
        int | None, typer.Option(help="Run this many copies of the pipeline.")
    ] = None,
    spacing: Annotated[float | None, typer.Option(help="Seconds between copies' starts.")] = None,
    time_scale: Annotated[
        float | None, typer.Option(help="Simulated seconds per wall second.")
    ] = None,
    pool: Annotated[str | None, typer.Option(help="Only this pool's nodes.")] = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Print the simulation's id and return.")
    ] = False,
) -> None:
    """Simulates a template on a virtual cluster with progress until it ends;
    exit code 0 when it succeeded, 1 when not."""
    from simpipe_client.generated_sync.input_types import (
        ParameterInput,
        StartSimulationInput,
        TimingInput,
    )

    if reference is None and duration_factor is None:
        raise DocumentError("give a timing: --reference RUN (optionally with --duration-factor)")
    parameters = [ParameterInput(name=k, value=v) for k, v in key_values(param, "--param").items()]
    current = session(ctx)
    with current.client() as client:
        started = client.start_simulation(
            StartSimulationInput(
                project_id=project,
                workflow_template_name=template,
                virtual_cluster_id=cluster,
                timing=TimingInput(reference_dry_run_id=reference, duration_factor=duration_factor),
                parameters=parameters or None,
                pool=pool,
                copies=copies,
                spacing_seconds=spacing,
                time_scale=time_scale,
            )
        ).start_simulation
    if detach:
        current.answer(started, started.id)
        return
    ended = asyncio.run(_follow(current, started.id))
    _print_simulation(current, ended)
    if ended.phase.value != "Succeeded":
        raise typer.Exit(1)


async def _follow(current: Session, simulation_id: str) -> async_simulation.SimulationSimulation:
    from simpipe_client.responses import TERMINAL_SIMULATION_PHASES

    async with current.async_client() as client:
        columns = (
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns, console=err, transient=True, disable=current.json or not err.is_terminal
        ) as bar:
            task = bar.add_task(f"simulation {simulation_id}", total=None)
            async for update in client.simulation_progress(simulation_id):
                found = update.simulation_progress
                if found.progress is not None:
                    bar.update(
                        task, completed=found.progress.steps_done, total=found.progress.steps_total
                    )
                bar.update(task, description=f"simulation {simulation_id}: {found.phase.value}")
                if found.phase.value in TERMINAL_SIMULATION_PHASES:
                    break
        return (await client.simulation(simulation_id)).simulation


def _print_simulation(current: Session, simulation: SimulationSimulation) -> None:
    with current.client() as client:
        # The kwok-scaler writes the report before it records the end: an
        # ended simulation without one is one whose report could not be
        # written (its message says why).
        report = client.simulation_report(simulation.id).simulation_report
    if current.json:
        emit_json({"simulation": simulation, "report": report})
        return
    out.print(
        f"simulation {simulation.id}: {phase(simulation.phase.value)} {simulation.message or ''}"
    )
    if report is None:
        return
    rows = [
        (
            s.copy_,
            s.display_name,
            s.node_name,
            f"{s.queued_seconds:.1f}",
            f"{s.run_seconds:.1f}",
            phase(s.phase),
        )
        for s in report.steps
    ]
    out.print(table(None, ["copy", "step", "node", "queued s", "run s", "phase"], rows))
    out.print(
        f"makespan {report.makespan_seconds:.1f}s (orchestration {report.orchestration_overhead_seconds:.1f}s), "
        f"peak pods pending {report.peak_pods_pending}, {report.energy_kwh * 1000:.3f} Wh, {report.carbon_g_co_2:.2f} gCO2"
    )
    for step in report.unschedulable:
        out.print(f"[red]unschedulable[/red] {step.display_name}: {step.reason}")


@simulate_app.command("show")
def simulate_show(
    ctx: typer.Context, simulation_id: Annotated[str, typer.Argument(help="The simulation's id.")]
) -> None:
    """A simulation and, once it ended, its report."""
    with session(ctx).client() as client:
        found = client.simulation(simulation_id).simulation
    _print_simulation(session(ctx), found)


@simulate_app.command("list")
def simulate_list(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project's.")
    ] = None,
) -> None:
    """Your simulations."""
    with session(ctx).client() as client:
        found = client.simulations(project_id=project).simulations
    if session(ctx).json:
        emit_json(found)
        return
    rows = [
        (
            s.id,
            s.project_id,
            phase(s.phase.value),
            f"{s.progress.steps_done}/{s.progress.steps_total}",
            s.created_at,
        )
        for s in found
    ]
    out.print(table(None, ["id", "project", "phase", "steps", "created"], rows))


@simulate_app.command("cancel")
def simulate_cancel(
    ctx: typer.Context, simulation_id: Annotated[str, typer.Argument(help="The simulation's id.")]
) -> None:
    """Cancels a simulation."""
    with session(ctx).client() as client:
        found = client.cancel_simulation(simulation_id).cancel_simulation
    session(ctx).answer(found, f"simulation {found.id}: {found.phase.value}")


def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="A simulation's id.")],
    b: Annotated[str | None, typer.Argument(help="Another simulation's id.")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Compare A with this dry run instead of B.")
    ] = None,
) -> None:
    """Two simulations (or one and a dry run) step by step: run and queue times, makespan, energy."""
    if (b is None) == (reference is None):
        raise DocumentError("compare A with B or with --reference RUN (one of them)")
    with session(ctx).client() as client:
        found = client.compare_simulations(
            a, b=b, reference_dry_run_id=reference
        ).compare_simulations
    if session(ctx).json:
        emit_json(found)
        return
    rows = [
        (
            s.step,
            f"{s.run_seconds_a:.1f}",
            f"{s.run_seconds_b:.1f}",
            f"{s.run_seconds_b - s.run_seconds_a:+.1f}",
            f"{s.queued_seconds_a:.1f}",
            f"{s.queued_seconds_b:.1f}",
        )
        for s in found.steps
    ]
    out.print(
        table(
            f"{found.a} vs {found.b}",
            ["step", "A run s", "B run s", "B-A s", "A queued s", "B queued s"],
            rows,
        )
    )
    out.print(
        f"makespan {found.makespan_seconds_a:.1f}s vs {found.makespan_seconds_b:.1f}s "
        f"({found.makespan_seconds_b - found.makespan_seconds_a:+.1f}s); "
        f"energy {found.energy_kwh_a * 1000:.3f} vs {found.energy_kwh_b * 1000:.3f} Wh"
    )
