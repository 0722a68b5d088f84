"""Each step's figures (simulated seconds, usage, outputs, exit code), per
template name, from the simulation's timing source: a reference dry run's
report, scaling laws fitted over dry runs, or figures given explicitly.
And the bound a time scale must respect."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import TYPE_CHECKING, Any

from simpipe.v1 import (
    argo_watcher_pb2,
    dry_runs_pb2,
    kwok_scaler_pb2,
    metrics_collector_pb2,
)
from simpipe_common.argo_nodes import workflow_nodes
from simpipe_common.errors import InvalidInputError
from simpipe_kwok_scaler.simulations.calls import called

if TYPE_CHECKING:
    from simpipe.v1.argo_watcher_pb2_grpc import ArgoWatcherAsyncStub
    from simpipe.v1.metrics_collector_pb2_grpc import MetricsCollectorAsyncStub

pb = kwok_scaler_pb2
Figures = dict[str, pb.StepFigures]

MAX_STEPS = 500
MAX_SECONDS = 365 * 24 * 3600.0
MAX_CPU_CORES = 10_000.0
MAX_MEMORY_BYTES = 1e15
MAX_RATE = 1e13
MAX_OUTPUTS = 64
MAX_OUTPUT_NAME = 128
MAX_OUTPUT_BYTES = 128 * 1024
MAX_DURATION_FACTOR = 1e4
MAX_DRY_RUNS = 100
RATES = (
    "network_receive_bytes_per_second",
    "network_transmit_bytes_per_second",
    "fs_read_bytes_per_second",
    "fs_write_bytes_per_second",
)
REGRESSIONS = ("", "linear", "power", "logarithmic")


def _bounded(step: str, field: str, value: float, limit: float) -> None:
    if not math.isfinite(value) or value < 0 or value > limit:
        raise InvalidInputError(
            f"step {step!r}: {field} must be a finite number from 0 to {limit:g}, not {value!r}"
        )


def check_step(figures: pb.StepFigures) -> None:
    step = figures.step
    if not step or len(step) > MAX_OUTPUT_NAME or not step.isprintable():
        raise InvalidInputError(
            f"each step's figures need its template name (1-{MAX_OUTPUT_NAME} characters)"
        )
    _bounded(step, "seconds", figures.seconds, MAX_SECONDS)
    _bounded(step, "cpu_cores", figures.cpu_cores, MAX_CPU_CORES)
    _bounded(step, "memory_bytes", figures.memory_bytes, MAX_MEMORY_BYTES)
    for field in RATES:
        _bounded(step, field, getattr(figures, field), MAX_RATE)
    if not 0 <= figures.exit_code <= 255:
        raise InvalidInputError(f"step {step!r}: exit_code must be 0-255")
    if len(figures.output_parameters) > MAX_OUTPUTS:
        raise InvalidInputError(f"step {step!r}: at most {MAX_OUTPUTS} output parameters")
    for name in figures.output_parameters:
        if not (
            0 < len(name) <= MAX_OUTPUT_NAME
            and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
        ):
            raise InvalidInputError(
                f"step {step!r}: output parameter name {name[:80]!r} is not valid"
            )
    if len(json.dumps(dict(figures.output_parameters))) > MAX_OUTPUT_BYTES:
        raise InvalidInputError(f"step {step!r}: output parameters over {MAX_OUTPUT_BYTES} bytes")


def checked(steps: Iterable[pb.StepFigures]) -> Figures:
    found: Figures = {}
    for figures in steps:
        check_step(figures)
        if figures.step in found:
            raise InvalidInputError(f"step {figures.step!r} is given twice")
        found[figures.step] = figures
        if len(found) > MAX_STEPS:
            raise InvalidInputError(f"at most {MAX_STEPS} steps")
    return found


def duration_factor(timing: pb.TimingSource) -> float:
    factor = timing.duration_factor or 1.0
    if not math.isfinite(factor) or not 0 < factor <= MAX_DURATION_FACTOR:
        raise InvalidInputError(
            f"timing.duration_factor must be above 0 and at most {MAX_DURATION_FACTOR:g}"
        )
    return factor


def largest_time_scale(figures: Mapping[str, pb.StepFigures], scrape_seconds: float) -> float:
    """The largest time scale at which every step (of non-zero duration)
    lasts three metric scrapes of wall time."""
    shortest = min((f.seconds for f in figures.values() if f.seconds > 0), default=math.inf)
    return shortest / (3 * scrape_seconds)


def check_time_scale(
    time_scale: float, figures: Mapping[str, pb.StepFigures], scrape_seconds: float, limit: float
) -> None:
    if not math.isfinite(time_scale) or not 0 < time_scale <= limit:
        raise InvalidInputError(f"time_scale must be above 0 and at most {limit:g}")
    largest = largest_time_scale(figures, scrape_seconds)
    if time_scale > largest:
        step = min((f for f in figures.values() if f.seconds > 0), key=lambda f: f.seconds).step
        raise InvalidInputError(
            f"time_scale {time_scale:g} is too high: step {step!r} would last less than three"
            f" metric scrapes ({3 * scrape_seconds:g} s of wall time); the largest allowed"
            f" time scale is {math.floor(largest * 1000) / 1000:g}",
            reason="time-scale-too-high",
        )


def scaled(figures: Mapping[str, pb.StepFigures], factor: float) -> Figures:
    found: Figures = {}
    for name, step in figures.items():
        copy = pb.StepFigures()
        copy.CopyFrom(step)
        copy.seconds = step.seconds * factor
        found[name] = copy
    return found


def for_submission(
    figures: Mapping[str, pb.StepFigures], time_scale: float
) -> list[pb.StepFigures]:
    """The figures the submitter writes onto the pods: durations in wall time."""
    return [
        pb.StepFigures(**{**_fields(f), "seconds": f.seconds / time_scale})
        for f in figures.values()
    ]


def _fields(figures: pb.StepFigures) -> dict[str, Any]:
    return {
        "step": figures.step,
        "cpu_cores": figures.cpu_cores,
        "memory_bytes": figures.memory_bytes,
        "output_parameters": dict(figures.output_parameters),
        "exit_code": figures.exit_code,
        **{rate: getattr(figures, rate) for rate in RATES},
    }


# From the other services


def _pod_nodes(run: dry_runs_pb2.DryRun) -> dict[str, dry_runs_pb2.DryRunNode]:
    return {n.id: n for n in run.nodes if n.type == "Pod"}


def _outputs(run: dry_runs_pb2.DryRun) -> dict[str, dict[str, str]]:
    """Each pod node's output parameter values, from the Workflow's status."""
    try:
        workflow = json.loads(run.argo_workflow_json or "{}")
    except ValueError:
        return {}
    found: dict[str, dict[str, str]] = {}
    nodes = workflow_nodes(workflow.get("status"))
    for node_id, node in nodes.items():
        parameters = ((node or {}).get("outputs") or {}).get("parameters") or []
        values = {
            str(p["name"]): str(p["value"])
            for p in parameters
            if isinstance(p, dict) and "name" in p and "value" in p
        }
        if values:
            found[str(node_id)] = values
    return found


def _exit_code(node: dry_runs_pb2.DryRunNode) -> int:
    try:
        return min(255, max(0, int(node.exit_code)))
    except ValueError:
        return 0


async def dry_run(
    watcher: ArgoWatcherAsyncStub, caller: str, dry_run_id: str, deadline: float
) -> dry_runs_pb2.DryRun:
    return await called(
        f"dry run {dry_run_id}",
        watcher.GetDryRun(
            argo_watcher_pb2.GetDryRunRequest(caller=caller, dry_run_id=dry_run_id),
            timeout=deadline,
        ),
    )


async def from_reference(
    collector: MetricsCollectorAsyncStub,
    watcher: ArgoWatcherAsyncStub,
    caller: str,
    dry_run_id: str,
    deadline: float,
) -> Figures:
    """Each template's measured figures in the dry run's report (the mean
    over its pods), with the output values of its first pod."""
    run = await dry_run(watcher, caller, dry_run_id, deadline)
    report = await called(
        f"report of dry run {dry_run_id}",
        collector.GetRunReport(
            metrics_collector_pb2.DryRunMetricsRef(caller=caller, dry_run_id=dry_run_id),
            timeout=deadline,
        ),
    )
    nodes = _pod_nodes(run)
    outputs = _outputs(run)
    by_template: dict[str, list[tuple[dry_runs_pb2.DryRunNode, Any]]] = defaultdict(list)
    for step in report.summary.steps:
        node = nodes.get(step.node_id)
        if node is not None and node.template_name:
            by_template[node.template_name].append((node, step.summary))
    if not by_template:
        raise InvalidInputError(f"dry run {dry_run_id} has no measured steps to simulate from")
    found: Figures = {}
    for template, measured in sorted(by_template.items()):
        seconds = fmean(s.duration_seconds for _, s in measured)

        def rate(total: float, duration: float) -> float:
            return total / duration if duration > 0 else 0.0

        first = min(measured, key=lambda m: m[0].started_at.ToNanoseconds())[0]
        found[template] = pb.StepFigures(
            step=template,
            seconds=max(0.0, seconds),
            cpu_cores=fmean(s.avg_cpu_cores for _, s in measured),
            memory_bytes=fmean(s.max_memory_bytes for _, s in measured),
            network_receive_bytes_per_second=fmean(
                rate(s.network_receive_bytes, s.duration_seconds) for _, s in measured
            ),
            network_transmit_bytes_per_second=fmean(
                rate(s.network_transmit_bytes, s.duration_seconds) for _, s in measured
            ),
            fs_read_bytes_per_second=fmean(
                rate(s.fs_read_bytes, s.duration_seconds) for _, s in measured
            ),
            fs_write_bytes_per_second=fmean(
                rate(s.fs_write_bytes, s.duration_seconds) for _, s in measured
            ),
            output_parameters=outputs.get(first.id, {}),
            exit_code=_exit_code(first),
        )
    return found


async def from_scaling(
    collector: MetricsCollectorAsyncStub,
    watcher: ArgoWatcherAsyncStub,
    caller: str,
    source: pb.ScalingLawSource,
    deadline: float,
) -> Figures:
    """Each step's duration, CPU and memory predicted at the input size by
    laws fitted over the dry runs (their input sizes are their input
    files'); outputs and rates as in the first dry run."""
    ids = list(source.dry_run_ids)
    if not 2 <= len(ids) <= MAX_DRY_RUNS or len(set(ids)) != len(ids):
        raise InvalidInputError(
            f"timing.scaling needs 2-{MAX_DRY_RUNS} different dry runs to fit laws over"
        )
    size = source.input_size_bytes
    if not math.isfinite(size) or size <= 0:
        raise InvalidInputError("timing.scaling.input_size_bytes must be a positive number")
    if source.regression_method not in REGRESSIONS:
        raise InvalidInputError(
            "timing.scaling.regression_method must be linear, power or logarithmic"
        )
    aggregated = await called(
        "dry runs' metrics",
        collector.GetAggregatedNodesMetrics(
            metrics_collector_pb2.GetAggregatedNodesMetricsRequest(caller=caller, dry_run_ids=ids),
            timeout=deadline,
        ),
    )
    # Each run's input size: the largest input any of its steps read
    # (the pipeline's input), over the steps found in every run.
    sizes = [0.0] * len(ids)
    for aggregate in aggregated.nodes:
        if len(aggregate.data.file_size) == len(ids):
            sizes = [max(a, b) for a, b in zip(sizes, aggregate.data.file_size, strict=True)]
    if not all(s > 0 for s in sizes):
        raise InvalidInputError(
            "timing.scaling: the dry runs read no input files to size them by; fit laws over"
            " runs with input artifacts, or give explicit figures"
        )
    prediction = await called(
        "scaling prediction",
        collector.PredictScaling(
            metrics_collector_pb2.PredictScalingRequest(
                laws=metrics_collector_pb2.ComputeScalingLawsRequest(
                    caller=caller, dry_run_ids=ids, data_x=sizes,
                    regression_method=source.regression_method,
                ),
                data_x_to_predict=size,
            ),
            timeout=deadline,
        ),
    )  # fmt: skip
    first = await dry_run(watcher, caller, ids[0], deadline)
    templates = {n.display_name: n for n in _pod_nodes(first).values()}
    outputs = _outputs(first)
    found: Figures = {}
    for predicted in prediction.nodes:
        node = templates.get(predicted.node_name)
        if node is None or not node.template_name or node.template_name in found:
            continue
        p = predicted.prediction
        found[node.template_name] = pb.StepFigures(
            step=node.template_name,
            seconds=max(0.0, p.duration),
            cpu_cores=max(0.0, p.cpu),
            memory_bytes=max(0.0, p.mem),
            output_parameters=outputs.get(node.id, {}),
            exit_code=_exit_code(node),
        )
    if not found:
        raise InvalidInputError("timing.scaling: no step of the dry runs could be predicted")
    for figures in found.values():
        # A law evaluated far from its data can give anything: bounds hold.
        check_step(figures)
    return found


async def resolve(
    timing: pb.TimingSource,
    caller: str,
    collector: MetricsCollectorAsyncStub,
    watcher: ArgoWatcherAsyncStub,
    deadline: float,
) -> Figures:
    """The figures per template, durations multiplied by the duration factor."""
    factor = duration_factor(timing)
    source = timing.WhichOneof("source")
    if source == "reference_dry_run_id":
        figures = await from_reference(
            collector, watcher, caller, timing.reference_dry_run_id, deadline
        )
    elif source == "scaling":
        figures = await from_scaling(collector, watcher, caller, timing.scaling, deadline)
    elif source == "explicit":
        figures = checked(timing.explicit.steps)
        if not figures:
            raise InvalidInputError("timing.explicit needs at least one step's figures")
    else:
        raise InvalidInputError("timing needs a source: reference_dry_run_id, scaling or explicit")
    return scaled(figures, factor)
