"""The collector's domain: series and summaries of a run's steps, from the
argo-watcher's view of the run (its pods and their times) and Prometheus
range queries that each cover all its steps, never one query per step."""

import asyncio
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import dry_runs_pb2
from simpipe_common import validation
from simpipe_common.energy import EnergyModel
from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_metrics_collector import catalog, promql
from simpipe_metrics_collector.catalog import Metric
from simpipe_metrics_collector.grouping import per_pod
from simpipe_metrics_collector.prometheus import MAX_POINTS, NO_SAMPLES, Prometheus, Samples
from simpipe_metrics_collector.summaries import (
    StepMeasures,
    StepSamples,
    Summary,
    Window,
    measure_step,
    parse,
    summarise_run,
)
from simpipe_metrics_collector.watcher import Watcher

# Series reach this far around a step by default, as in the original: clocks
# of nodes and of Prometheus may disagree by a little.
SERIES_PADDING_SECONDS = 10.0
# At most this many points per series when the caller names no step.
DEFAULT_POINTS = 1000
# The series a summary reads, by StepSamples field.
_SUMMARISED = {
    "cpu_counter": catalog.CPU,
    "memory": catalog.MEMORY,
    "network_receive": catalog.NETWORK_RECEIVE,
    "network_transmit": catalog.NETWORK_TRANSMIT,
    "fs_read": catalog.FS_READ,
    "fs_write": catalog.FS_WRITE,
}


def unix_seconds(ts: Timestamp) -> float | None:
    """Unix seconds of a timestamp; None when it is unset."""
    return ts.seconds + ts.nanos / 1e9 if ts.seconds or ts.nanos else None


@dataclass(frozen=True)
class Step:
    node_id: str
    display_name: str
    pod_name: str
    window: Window


def started_steps(dry_run: dry_runs_pb2.DryRun, now: float) -> list[Step]:
    """The run's Pod nodes that have started; a running one ends `now`."""
    found = []
    for node in dry_run.nodes:
        started = unix_seconds(node.started_at)
        if node.type != "Pod" or not node.pod_name or started is None:
            continue
        finished = unix_seconds(node.finished_at) or now
        found.append(Step(node.id, node.display_name, node.pod_name, Window(started, finished)))
    return found


def run_window(dry_run: dry_runs_pb2.DryRun, steps: Sequence[Step], now: float) -> Window:
    started = unix_seconds(dry_run.status.started_at)
    if started is None:
        started = min((s.window.start for s in steps), default=now)
    return Window(started, unix_seconds(dry_run.status.finished_at) or now)


def padded(step: Step, start: float | None = None, end: float | None = None) -> Window:
    """The window of a step's series: `start` to `end`, by default its life
    padded by SERIES_PADDING_SECONDS."""
    return Window(
        start if start is not None else step.window.start - SERIES_PADDING_SECONDS,
        end if end is not None else step.window.end + SERIES_PADDING_SECONDS,
    )


def clipped(samples: Samples, window: Window) -> Samples:
    """The samples within the window (the same ones when all are)."""
    times = samples.timestamps
    if not times or (window.start <= times[0] and times[-1] <= window.end):
        return samples
    first, last = bisect_left(times, window.start), bisect_right(times, window.end)
    return Samples(times[first:last], samples.values[first:last])


@dataclass(frozen=True)
class StepSeries:
    node_id: str
    metric: str
    samples: Samples


@dataclass(frozen=True)
class RunMeasures:
    dry_run: dry_runs_pb2.DryRun
    steps: list[tuple[Step, StepMeasures]]
    run: Summary


class MetricsCollector:
    def __init__(
        self,
        watcher: Watcher,
        prometheus: Prometheus,
        namespace: str,
        scrape_interval: float,
        energy: EnergyModel,
    ) -> None:
        self.watcher = watcher
        self.prometheus = prometheus
        self.namespace = namespace
        self.scrape_interval = scrape_interval
        self.energy = energy

    async def dry_run(self, caller: str, dry_run_id: str) -> dry_runs_pb2.DryRun:
        """The run as `caller` may see it (NOT_FOUND for someone else's)."""
        return await self.watcher.dry_run(
            validation.caller(caller), validation.dns_label("dry run id", dry_run_id)
        )

    async def step_series(
        self,
        caller: str,
        dry_run_id: str,
        node_ids: Sequence[str],
        metric_names: Sequence[str],
        start: float | None,
        end: float | None,
        step: int,
    ) -> list[StepSeries]:
        """Each requested step's series of each requested metric, between
        `start` and `end` (default: the step's own life, padded)."""
        metrics = catalog.metrics_named(list(metric_names))
        wanted = [validation.node_id(n) for n in dict.fromkeys(node_ids)]
        if step < 0:
            raise InvalidInputError(f"step must be 0 (automatic) or more seconds, not {step}")
        if start is not None and end is not None and end <= start:
            raise InvalidInputError("end must be after start")
        dry_run = await self.dry_run(caller, dry_run_id)
        steps = started_steps(dry_run, time.time())
        if wanted:
            known = {n.id for n in dry_run.nodes if n.type == "Pod"}
            missing = [n for n in wanted if n not in known]
            if missing:
                raise NotFoundError(f"dry run {dry_run.id} has no step {missing[0]}")
            steps = [s for s in steps if s.node_id in wanted]
        windows = {s.node_id: padded(s, start, end) for s in steps}
        series = await self.series(self.namespace_of(dry_run), metrics, steps, windows, step)
        ids = wanted or [n.id for n in dry_run.nodes if n.type == "Pod"]
        return [
            StepSeries(n, m.name, series.get((n, m.name), NO_SAMPLES)) for n in ids for m in metrics
        ]

    def namespace_of(self, dry_run: dry_runs_pb2.DryRun) -> str:
        """Where the run's pods are (runs on virtual nodes have a namespace of
        their own); the configured one for a run that does not say."""
        return dry_run.namespace or self.namespace

    async def series(
        self,
        namespace: str,
        metrics: Sequence[Metric],
        steps: Sequence[Step],
        windows: dict[str, Window],
        step: int,
    ) -> dict[tuple[str, str], Samples]:
        """(node id, metric) -> the samples in the node's window: one range
        query for all the metrics and steps, over the union of the windows."""
        valid = [w for w in windows.values() if w.end > w.start]
        if not steps or not valid or not metrics:
            return {}
        start = min(w.start for w in valid)
        end = max(w.end for w in valid)
        seconds = step or max(1, math.ceil((end - start) / DEFAULT_POINTS))
        if (end - start) / seconds >= MAX_POINTS:
            raise InvalidInputError(
                f"{(end - start) / seconds:.0f} samples per series is over Prometheus's limit"
                f" of {MAX_POINTS}: ask for a shorter range or a larger step"
            )
        # A grid on multiples of the step: repeated asks get the same samples.
        start = math.floor(start / seconds) * seconds
        found = await self._per_pod(
            promql.series_queries(metrics, namespace, [s.pod_name for s in steps]),
            start, end, seconds,
        )  # fmt: skip
        return {
            (s.node_id, metric.name): clipped(
                found.get((metric.series, s.pod_name), NO_SAMPLES), windows[s.node_id]
            )
            for s in steps
            for metric in metrics
        }

    async def _per_pod(
        self, queries: Sequence[str], start: float, end: float, step: float
    ) -> dict[tuple[str, str], Samples]:
        """(metric series name, pod) -> samples, of all the queries (run side by side)."""
        results = await asyncio.gather(
            *(self.prometheus.query_range(q, start, end, step) for q in queries)
        )
        return per_pod(series for result in results for series in result)

    async def measure(self, dry_run: dry_runs_pb2.DryRun) -> RunMeasures:
        """Summaries of every started step and of the run: three range
        queries for all steps (container counters and memory, network
        counters, the cpu counter's rate), at the scrape interval."""
        now = time.time()
        steps = started_steps(dry_run, now)
        window = run_window(dry_run, steps, now)
        if not steps:
            return RunMeasures(dry_run, [], summarise_run([], window, self.energy))
        # Counters are final a couple of scrapes after a step's end.
        grace = 2 * self.scrape_interval
        start = min(s.window.start for s in steps) - grace
        end = max(s.window.end for s in steps) + grace
        step = max(self.scrape_interval, (end - start) / (MAX_POINTS - 1))
        start = math.floor(start / step) * step
        # rate() needs two samples in its window, whatever the jitter.
        rate_window = max(3, math.ceil(3 * self.scrape_interval), math.ceil(2 * step))
        pods = [s.pod_name for s in steps]
        namespace = self.namespace_of(dry_run)
        values = await self._per_pod(
            [
                *promql.series_queries(list(_SUMMARISED.values()), namespace, pods),
                promql.rate_query(catalog.CPU, namespace, pods, rate_window),
            ],
            start, end, step,
        )  # fmt: skip

        def samples(pod: str) -> StepSamples:
            return StepSamples(
                cpu_rate=parse(values.get(("", pod), NO_SAMPLES)),
                **{
                    name: parse(values.get((metric.series, pod), NO_SAMPLES))
                    for name, metric in _SUMMARISED.items()
                },
            )

        measured = [
            (s, measure_step(samples(s.pod_name), s.window, grace, self.energy)) for s in steps
        ]
        run = summarise_run([m for _, m in measured], window, self.energy)
        return RunMeasures(dry_run, measured, run)
