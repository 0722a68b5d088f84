"""The original getAggregatedNodesMetrics: each step's CPU, memory, input
size and duration in each of several dry runs, keyed by the step's display
name (the same across runs of one pipeline)."""

import asyncio
import statistics
from collections.abc import Sequence

from simpipe_common.errors import InvalidInputError
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.scaling import Aggregate, NodeData
from simpipe_metrics_collector.summaries import StepMeasures

MAX_DRY_RUNS = 100


def _cpu(measured: StepMeasures, method: Aggregate) -> float:
    if method is Aggregate.MEDIAN:
        return statistics.median(v for _, v in measured.cores) if measured.cores else 0.0
    summary = measured.summary
    return summary.max_cpu_cores if method is Aggregate.MAX else summary.avg_cpu_cores


def _memory(measured: StepMeasures, method: Aggregate) -> float:
    if method is Aggregate.MEDIAN:
        return statistics.median(v for _, v in measured.memory) if measured.memory else 0.0
    summary = measured.summary
    return summary.max_memory_bytes if method is Aggregate.MAX else summary.avg_memory_bytes


async def aggregated_nodes(
    collector: MetricsCollector,
    sizes: ArtifactSizes,
    caller: str,
    dry_run_ids: Sequence[str],
    method: Aggregate,
) -> list[tuple[str, NodeData]]:
    """Steps in order of first appearance; within a step, one entry per
    occurrence in each dry run, in the order of `dry_run_ids`."""
    if not dry_run_ids or len(dry_run_ids) > MAX_DRY_RUNS:
        raise InvalidInputError(f"give between 1 and {MAX_DRY_RUNS} dryRunIds")
    # A run named twice is fetched and measured once, and an artifact read
    # by several steps or runs is sized once; results follow `dry_run_ids`.
    unique = list(dict.fromkeys(dry_run_ids))
    runs = await asyncio.gather(*(collector.dry_run(caller, d) for d in unique))
    measured = await asyncio.gather(*(collector.measure(run) for run in runs))
    by_id = dict(zip(unique, measured, strict=True))
    artifacts = {
        (dry_run_id, node.id): [(a.bucket, a.key) for a in node.input_artifacts]
        for dry_run_id, run in zip(unique, runs, strict=True)
        for node in run.nodes
    }
    sized = await sizes.sizes(pair for found in artifacts.values() for pair in found)
    nodes: dict[str, NodeData] = {}
    for dry_run_id in dry_run_ids:
        for step, measures in by_id[dry_run_id].steps:
            data = nodes.setdefault(step.display_name, NodeData([], [], [], [], []))
            data.cpu.append(_cpu(measures, method))
            data.mem.append(_memory(measures, method))
            inputs = artifacts.get((dry_run_id, step.node_id), [])
            data.file_size.append(float(sum(sized[pair] for pair in inputs)))
            data.duration.append(measures.summary.duration_seconds)
            data.node_id.append(step.node_id)
    return list(nodes.items())
