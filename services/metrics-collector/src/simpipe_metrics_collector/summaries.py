"""Summaries of what a step and a run used, from their series. Pure: the
collector fetches the series, these functions only compute.

Counters are per container and start at 0 with it (cAdvisor's do), so a
step's total is the counter's last value plus, at each reset (a restarted
container), the value reached before it. PromQL's increase() would miss what
was used before the first scrape and extrapolate at the edges.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from simpipe_common.energy import EnergyModel
from simpipe_metrics_collector.prometheus import Samples

# (unix seconds, value)
Points = list[tuple[float, float]]


def parse(samples: Samples) -> Points:
    """Prometheus's string values as floats; NaN and infinities dropped."""
    parsed = zip(samples.timestamps, map(float, samples.values), strict=True)
    return [(t, v) for t, v in parsed if math.isfinite(v)]


def within(points: Points, start: float, end: float) -> Points:
    return [(t, v) for t, v in points if start <= t <= end]


def counter_total(points: Points) -> float:
    total, previous = 0.0, None
    for _, value in points:
        if previous is not None and value < previous:
            total += previous
        previous = value
    return total + (previous or 0.0)


def sustained(points: Points) -> Points:
    """Each rate sample lowered to what at least two of its three nearest
    samples reach (a median of three, the window kept inside the series).

    A scrape's timestamp is when Prometheus started it, and an emulated
    counter (KWOK's) is computed when its endpoint answers: one late answer
    makes one rate sample high and a neighbour low, by the lateness over the
    rate window. A real change of usage moves at least two consecutive rate
    samples, since the rate window spans two query steps or more, so it
    survives; a lone outlier does not.
    """
    if len(points) < 3:
        # Too few to tell an outlier from the step's own edge (a short
        # step's first rate sample is low: its series starts mid-window).
        return points
    values = [v for _, v in points]
    last = len(values) - 2
    return [
        (t, sorted(values[j - 1 : j + 2])[1])
        for t, j in ((t, min(max(i, 1), last)) for i, (t, _) in enumerate(points))
    ]


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Summary:
    duration_seconds: float = 0.0
    cpu_seconds: float = 0.0
    max_cpu_cores: float = 0.0
    avg_cpu_cores: float = 0.0
    max_memory_bytes: float = 0.0
    avg_memory_bytes: float = 0.0
    network_receive_bytes: float = 0.0
    network_transmit_bytes: float = 0.0
    fs_read_bytes: float = 0.0
    fs_write_bytes: float = 0.0
    energy_kwh: float = 0.0
    carbon_g_co2: float = 0.0


@dataclass
class StepSamples:
    """One step's series as the summary queries returned them."""

    cpu_counter: Points = field(default_factory=list)
    # rate() of the cpu counter: cores.
    cpu_rate: Points = field(default_factory=list)
    memory: Points = field(default_factory=list)
    network_receive: Points = field(default_factory=list)
    network_transmit: Points = field(default_factory=list)
    fs_read: Points = field(default_factory=list)
    fs_write: Points = field(default_factory=list)


@dataclass(frozen=True)
class StepMeasures:
    """A step's summary and the samples behind its extremes (the scaling
    laws aggregate them with a median too)."""

    summary: Summary
    window: Window
    cores: Points
    memory: Points


def _energy(
    summary: Summary, cpu_seconds: float, memory_byte_seconds: float, model: EnergyModel
) -> Summary:
    kwh = model.energy_kwh(cpu_seconds, memory_byte_seconds)
    return replace(summary, energy_kwh=kwh, carbon_g_co2=model.carbon_g_co2(kwh))


def measure_step(
    samples: StepSamples, window: Window, counter_grace: float, model: EnergyModel
) -> StepMeasures:
    """`counter_grace`: how long after the step's end its counters' final
    values may still be scraped."""
    counters_until = window.end + counter_grace

    def total(points: Points) -> float:
        return counter_total(within(points, window.start, counters_until))

    cores = sustained(within(samples.cpu_rate, window.start, window.end))
    memory = within(samples.memory, window.start, window.end)
    cpu_seconds = total(samples.cpu_counter)
    avg_memory = statistics.fmean(v for _, v in memory) if memory else 0.0
    summary = Summary(
        duration_seconds=window.seconds,
        cpu_seconds=cpu_seconds,
        max_cpu_cores=max((v for _, v in cores), default=0.0),
        avg_cpu_cores=cpu_seconds / window.seconds if window.seconds else 0.0,
        max_memory_bytes=max((v for _, v in memory), default=0.0),
        avg_memory_bytes=avg_memory,
        network_receive_bytes=total(samples.network_receive),
        network_transmit_bytes=total(samples.network_transmit),
        fs_read_bytes=total(samples.fs_read),
        fs_write_bytes=total(samples.fs_write),
    )
    return StepMeasures(
        _energy(summary, cpu_seconds, avg_memory * window.seconds, model), window, cores, memory
    )


def _peak_of_sum(series: Iterable[Points]) -> float:
    """The largest sum over steps at one instant: all series of a run come
    from the same range queries, so their timestamps line up."""
    by_time: defaultdict[float, float] = defaultdict(float)
    for points in series:
        for t, v in points:
            by_time[t] += v
    return max(by_time.values(), default=0.0)


def summarise_run(steps: Sequence[StepMeasures], window: Window, model: EnergyModel) -> Summary:
    """Totals add up; averages are over the run's duration (steps running in
    parallel add up, idle gaps count as zero); maxima are of the sum."""
    cpu_seconds = sum(s.summary.cpu_seconds for s in steps)
    memory_byte_seconds = sum(s.summary.avg_memory_bytes * s.window.seconds for s in steps)
    seconds = window.seconds
    summary = Summary(
        duration_seconds=seconds,
        cpu_seconds=cpu_seconds,
        max_cpu_cores=_peak_of_sum(s.cores for s in steps),
        avg_cpu_cores=cpu_seconds / seconds if seconds else 0.0,
        max_memory_bytes=_peak_of_sum(s.memory for s in steps),
        avg_memory_bytes=memory_byte_seconds / seconds if seconds else 0.0,
        network_receive_bytes=sum(s.summary.network_receive_bytes for s in steps),
        network_transmit_bytes=sum(s.summary.network_transmit_bytes for s in steps),
        fs_read_bytes=sum(s.summary.fs_read_bytes for s in steps),
        fs_write_bytes=sum(s.summary.fs_write_bytes for s in steps),
    )
    return _energy(summary, cpu_seconds, memory_byte_seconds, model)
