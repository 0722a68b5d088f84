"""`simpipe run`: dry runs: start one and watch its steps live, then study
it (steps, logs, report), stop or delete it."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live

from simpipe_cli.documents import DocumentError, as_workflow, key_values, read_document
from simpipe_cli.output import emit_json, err, jsonable, out, phase, seconds, table
from simpipe_cli.session import Session, session

if TYPE_CHECKING:
    from rich.table import Table

    from simpipe_client import Simpipe
    from simpipe_client.generated.dry_run import DryRunDryRun as AsyncDryRunDryRun
    from simpipe_client.generated_sync.dry_run import DryRunDryRun
    from simpipe_client.generated_sync.dry_run_report import DryRunReportDryRunMetricsSummary
    from simpipe_client.generated_sync.fragments import UpdateFields
    from simpipe_client.generated_sync.input_types import InputArtifactInput

run_app = typer.Typer(
    no_args_is_help=True,
    help="Dry runs: start (with live progress), show, logs, report, stop, delete.",
)

MIB = 1024 * 1024


def _inputs(client: Simpipe, given: list[str]) -> list[InputArtifactInput]:
    """Uploads each `--input [NAME=]PATH` and names it as the pipeline's input artifact NAME
    (default: the file's name without its suffix)."""
    from simpipe_client.generated_sync.input_types import InputArtifactInput

    found: list[InputArtifactInput] = []
    for spec in given:
        name, sep, path_text = spec.partition("=")
        path = Path(path_text if sep else spec)
        if not path.is_file():
            raise DocumentError(f"--input {spec!r}: {path}: no such file")
        artifact = client.upload_file(path, f"inputs/{uuid.uuid4().hex[:12]}/{path.name}")
        found.append(
            InputArtifactInput(
                name=name if sep else path.stem, bucket_name=artifact.bucket_name, key=artifact.key
            )
        )
        if out.is_terminal:
            out.print(f"uploaded {path} as {artifact.bucket_name}/{artifact.key}", markup=False)
    return found


@run_app.command("start")
def start(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="A Workflow or WorkflowTemplate to dry-run (YAML or JSON).", show_default=False
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", help="Dry-run an uploaded WorkflowTemplate instead."),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="The project's id.")
    ] = None,
    param: Annotated[
        list[str], typer.Option("--param", help="A parameter, NAME=VALUE (repeatable).")
    ] = [],  # noqa: B006 (Typer reads the default)
    input_: Annotated[
        list[str],
        typer.Option(
            "--input", "-i", help="A file for input artifact NAME: [NAME=]PATH (repeatable)."
        ),
    ] = [],  # noqa: B006
    virtual: Annotated[
        bool, typer.Option("--virtual", help="On KWOK's virtual nodes (simulated steps).")
    ] = False,
    virtual_cluster: Annotated[
        str | None, typer.Option(help="On this virtual cluster's nodes.")
    ] = None,
    pool: Annotated[str | None, typer.Option(help="On this pool of the virtual cluster.")] = None,
    gvisor: Annotated[
        bool, typer.Option("--gvisor", help="Each step in gVisor (real nodes).")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Print the run's id and return.")
    ] = False,
) -> None:
    """Starts a dry run and shows its steps live until it ends; exit code 0
    when it succeeded, 1 when not."""
    from simpipe_client.generated_sync.enums import Placement, Sandbox
    from simpipe_client.generated_sync.input_types import (
        CreateDryRunFromTemplateInput,
        CreateDryRunInput,
        ParameterInput,
    )

    if (file is None) == (template is None):
        raise DocumentError("give a pipeline file or --template NAME (one of them)")
    parameters = key_values(param, "--param")
    placement = Placement.VIRTUAL_NODES if virtual or virtual_cluster else None
    sandbox = Sandbox.GVISOR if gvisor else None
    current = session(ctx)
    # The document is read before any input is uploaded: a bad one leaves no files behind.
    workflow = as_workflow(read_document(file), parameters) if file is not None else None
    with current.client() as client:
        inputs = _inputs(client, input_) or None
        if workflow is not None:
            created = client.create_dry_run(
                CreateDryRunInput(
                    argo_workflow=workflow,
                    project_id=project,
                    input_artifacts=inputs,
                    placement=placement,
                    sandbox=sandbox,
                    virtual_cluster=virtual_cluster,
                    pool=pool,
                )
            ).create_dry_run
        else:
            created = client.create_dry_run_from_template(
                CreateDryRunFromTemplateInput(
                    workflow_template_name=str(template),
                    project_id=project,
                    parameters=[ParameterInput(name=k, value=v) for k, v in parameters.items()]
                    or None,
                    input_artifacts=inputs,
                    placement=placement,
                    sandbox=sandbox,
                    virtual_cluster=virtual_cluster,
                    pool=pool,
                )
            ).create_dry_run_from_template
        if detach:
            current.answer(created, created.id)
            return
        run = _follow(client, current, created.id)
        with err.status("waiting for the run's measurements", spinner="dots"):
            summary = client.wait_for_report(run.id).metrics_summary
        _show(current, run, summary)
    if run.status.phase.value != "Succeeded":
        raise typer.Exit(1)


class StepBoard:
    """The steps of a run as its updates tell them, for the live view."""

    def __init__(self, dry_run_id: str) -> None:
        self.dry_run_id = dry_run_id
        self.started = time.monotonic()
        self.run_phase = "Pending"
        self.progress = "-"
        self.steps: dict[str, dict[str, Any]] = {}

    def update(self, update: UpdateFields) -> str:
        """Takes an update; a line saying what changed."""
        elapsed = time.monotonic() - self.started
        if update.kind == "run":
            self.run_phase = update.phase
            self.progress = update.progress or self.progress
            return f"{elapsed:6.1f}s  dry run ({self.progress}) {update.phase}"
        name = update.display_name or update.node_id or "?"
        step = self.steps.setdefault(name, {})
        if update.phase == "Running" and "running" not in step:
            step["running"] = elapsed
        if update.phase in {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}:
            step["ended"] = elapsed
        step["phase"] = update.phase
        step["exit"] = update.exit_code
        return f"{elapsed:6.1f}s  {name:<24} {update.phase}"

    def table(self) -> Table:
        now = time.monotonic() - self.started
        rows = [
            (
                name,
                phase(step["phase"]),
                seconds(step.get("ended", now) - step["running"]) if "running" in step else "-",
                step["exit"],
            )
            for name, step in self.steps.items()
        ]
        title = f"dry run {self.dry_run_id}: {self.run_phase} ({self.progress}), {now:.0f}s"
        return table(title, ["step", "phase", "running s", "exit"], rows)


def _follow(client: Simpipe, current: Session, dry_run_id: str) -> DryRunDryRun:
    board = StepBoard(dry_run_id)
    if current.json:
        return client.follow_dry_run(dry_run_id)
    if not out.is_terminal:
        out.print(f"dry run {dry_run_id} started; its updates:")
        return client.follow_dry_run(dry_run_id, lambda u: out.print(board.update(u)))
    with Live(board.table(), console=out, refresh_per_second=4, transient=True) as live:

        def show(update: UpdateFields) -> None:
            board.update(update)
            live.update(board.table())

        return client.follow_dry_run(dry_run_id, show)


def _pods(run: DryRunDryRun | AsyncDryRunDryRun) -> list[Any]:
    return [n for n in run.nodes or [] if n.type_.value == "Pod"]


def _step_table(run: DryRunDryRun, measured: dict[str, Any]) -> Table:
    rows = []
    for node in _pods(run):
        m = measured.get(node.id)
        rows.append(
            (
                node.display_name or node.name,
                phase(node.phase.value),
                node.duration,
                getattr(node, "exit_code", None),
                f"{m.max_cpu_cores:.2f}" if m else None,
                f"{m.cpu_seconds:.1f}" if m else None,
                f"{m.max_memory_bytes / MIB:.0f}" if m else None,
                f"{(m.network_receive_bytes + m.network_transmit_bytes) / MIB:.1f}" if m else None,
                f"{(m.fs_read_bytes + m.fs_write_bytes) / MIB:.1f}" if m else None,
            )
        )
    columns = [
        "step",
        "phase",
        "duration s",
        "exit",
        "cpu peak cores",
        "cpu time s",
        "mem peak MiB",
        "net MiB",
        "disk MiB",
    ]
    return table(f"dry run {run.id}: {run.status.phase.value}", columns, rows)


@run_app.command("show")
def show(
    ctx: typer.Context, dry_run_id: Annotated[str, typer.Argument(help="The run's id.")]
) -> None:
    """A run's steps: phase, duration, exit code and measured peaks."""
    with session(ctx).client() as client:
        run = client.dry_run(dry_run_id).dry_run
        summary = client.dry_run_report(dry_run_id).dry_run.metrics_summary
    _show(session(ctx), run, summary)


def _show(current: Session, run: DryRunDryRun, summary: DryRunReportDryRunMetricsSummary) -> None:
    measured = {s.node_id: s.summary for s in summary.steps}
    if current.json:
        document = jsonable(run)
        document["metricsSummary"] = jsonable(summary)
        emit_json(document)
        return
    out.print(_step_table(run, measured))
    if not measured:
        out.print(f"no measurements yet: `simpipe run show {run.id}` once they are in")
        return
    out.print(
        f"run: {summary.run.duration_seconds:.1f}s, cpu {summary.run.cpu_seconds:.1f}s, "
        f"peak memory {summary.run.max_memory_bytes / MIB:.0f} MiB, "
        f"{summary.run.energy_kwh * 1000:.3f} Wh, {summary.run.carbon_g_co_2:.2f} gCO2"
    )


@run_app.command("list")
def list_(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="The project's id.")],
) -> None:
    """A project's dry runs."""
    with session(ctx).client() as client:
        runs = client.project(project).project.dry_runs
    if session(ctx).json:
        emit_json(runs)
        return
    out.print(
        table(
            None,
            ["id", "phase", "progress", "started", "finished"],
            [
                (
                    r.id,
                    phase(r.status.phase.value),
                    r.status.progress,
                    r.status.started_at,
                    r.status.finished_at,
                )
                for r in runs
            ],
        )
    )


def _step(run: DryRunDryRun | AsyncDryRunDryRun, wanted: str | None) -> list[Any]:
    """The pod steps `wanted` names (display name, node name or id); all without it."""
    pods = _pods(run)
    if wanted is None:
        return pods
    found = [n for n in pods if wanted in {n.id, n.name, n.display_name}]
    if not found:
        from simpipe_client import errors

        names = ", ".join(sorted({n.display_name or n.name for n in pods})) or "none yet"
        raise errors.not_found(f"run {run.id} has no step {wanted!r} (its steps: {names})")
    return found


@run_app.command("logs")
def logs(
    ctx: typer.Context,
    dry_run_id: Annotated[str, typer.Argument(help="The run's id.")],
    step: Annotated[
        str | None, typer.Argument(help="A step's name or id (default: every step).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing lines until the step ends.")
    ] = False,
    tail: Annotated[int | None, typer.Option(help="Only the last N lines.")] = None,
    grep: Annotated[str | None, typer.Option(help="Only lines containing this.")] = None,
) -> None:
    """A run's step logs."""
    current = session(ctx)
    if follow:
        if step is None:
            raise DocumentError("--follow needs one step: name it")
        if grep is not None:
            raise DocumentError("--grep is for a written log, not with --follow")
        asyncio.run(_follow_log(current, dry_run_id, step, tail))
        return
    with current.client() as client:
        steps = _step(client.dry_run(dry_run_id).dry_run, step)
        for node in steps:
            found = client.step_log(dry_run_id, node.id, max_lines=tail, grep=grep).dry_run.node
            lines = list(getattr(found, "log", None) or [])
            if current.json:
                emit_json({"step": node.display_name, "nodeId": node.id, "lines": lines})
                continue
            if len(steps) > 1:
                out.print(f"[bold]== {node.display_name or node.name} ==[/bold]")
            for line in lines:
                out.print(line, markup=False)


async def _follow_log(current: Session, dry_run_id: str, wanted: str, tail: int | None) -> None:
    """Waits (on the run's updates) until the step has started, then prints
    its log as it is written until its container ends."""
    from simpipe_client import errors
    from simpipe_client.responses import terminal

    async with current.async_client() as client:
        node_id = None
        async for update in client.dry_run_updates(dry_run_id):
            u = update.dry_run_updates
            if u.kind == "step" and wanted in {u.node_id, u.display_name} and u.phase != "Pending":
                node_id = u.node_id
                break
            if u.kind == "run" and terminal(u.phase):
                # Ended before (or without) the step starting: its log as it is.
                node_id = _step((await client.dry_run(dry_run_id)).dry_run, wanted)[0].id
                break
        if node_id is None:
            raise errors.not_found(f"run {dry_run_id} has no step {wanted!r}")
        async for batch in client.dry_run_step_log(dry_run_id, node_id, max_lines=tail):
            for line in batch.dry_run_step_log.lines:
                current.answer({"nodeId": node_id, "line": line}, line)


@run_app.command("report")
def report(
    ctx: typer.Context,
    dry_run_id: Annotated[str, typer.Argument(help="The run's id.")],
    format_: Annotated[str, typer.Option("--format", help="json or parquet.")] = "json",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write it (default: <run>-report.<format>; - : stdout, json only).",
        ),
    ] = None,
) -> None:
    """Downloads a finished run's durable report (JSON or Parquet)."""
    if format_ not in {"json", "parquet"}:
        raise DocumentError(f"--format {format_!r}: json or parquet")
    with session(ctx).client() as client:
        found = client.dry_run_report(dry_run_id).dry_run.report
        if found is None:
            from simpipe_client import errors

            raise errors.not_found(
                f"run {dry_run_id} has no report yet (it is written when the run ends)"
            )
        url = found.url if format_ == "json" else found.parquet_url
        if output is not None and str(output) == "-":
            if format_ != "json":
                raise DocumentError("-o - prints JSON only")
            with tempfile.TemporaryDirectory() as scratch:
                kept = Path(scratch) / "report.json"
                client.download_url(url, kept)
                sys.stdout.write(kept.read_text())
            return
        dest = output or Path(f"{dry_run_id}-report.{format_}")
        size = client.download_url(url, dest)
    session(ctx).answer(
        {"path": str(dest), "bytes": size, "format": format_}, f"wrote {dest} ({size} bytes)"
    )


@run_app.command("stop")
def stop(
    ctx: typer.Context,
    dry_run_id: Annotated[str, typer.Argument(help="The run's id.")],
    terminate: Annotated[
        bool, typer.Option(help="Kill running steps instead of letting them finish.")
    ] = False,
) -> None:
    """Stops a run."""
    with session(ctx).client() as client:
        run = client.stop_dry_run(dry_run_id, terminate=terminate).stop_dry_run
    session(ctx).answer(run, f"dry run {run.id}: {run.status.phase.value}")


@run_app.command("delete")
def delete(
    ctx: typer.Context, dry_run_id: Annotated[str, typer.Argument(help="The run's id.")]
) -> None:
    """Deletes a run (its report stays in storage)."""
    with session(ctx).client() as client:
        client.delete_dry_run(dry_run_id)
    session(ctx).answer({"deleted": dry_run_id}, f"deleted dry run {dry_run_id}")
