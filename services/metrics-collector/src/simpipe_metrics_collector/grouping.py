"""Per-pod series from raw cAdvisor series, grouped here rather than in
PromQL: Prometheus evaluates an aggregation at every step of a range query,
which made a run's query several times slower than selecting the same series;
grouping a run's samples here costs far less.

A container's value is its series summed over the dimensions cAdvisor splits
it by (network interface, block device, failure type); a pod's is its
container's, or for pod-level metrics the largest over its containers (each
container of a pod reports the pod's network namespace, or only one does).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from simpipe_metrics_collector.prometheus import Samples, Series


def number_text(value: float) -> str:
    """A sum written like Prometheus writes numbers (no `.0`, no exponent for integers)."""
    return str(int(value)) if value.is_integer() and abs(value) < 2**63 else repr(value)


def _floats(texts: Sequence[str]) -> list[float]:
    return list(map(float, texts))


def _combined(parts: list[Samples], combine: Callable[[Iterable[float]], float]) -> Samples:
    """One series from several of one range query; a lone series, or parts
    that are all equal, are kept as they are (no float conversions,
    Prometheus's text kept)."""
    first = parts[0]
    if all(p.values == first.values and p.timestamps == first.timestamps for p in parts[1:]):
        return first
    if all(p.timestamps == first.timestamps for p in parts[1:]):
        # The usual case: the same time grid, so column by column.
        combined = map(combine, zip(*(_floats(p.values) for p in parts), strict=True))
        return Samples(first.timestamps, tuple([number_text(v) for v in combined]))
    by_time: defaultdict[float, list[float]] = defaultdict(list)
    for part in parts:
        for t, value in zip(part.timestamps, _floats(part.values), strict=True):
            by_time[t].append(value)
    times = sorted(by_time)
    return Samples(tuple(times), tuple([number_text(combine(by_time[t])) for t in times]))


def per_pod(series: Iterable[Series]) -> dict[tuple[str, str], Samples]:
    """(metric name, pod) -> samples; the metric name is "" for expressions
    that drop it (rate())."""
    containers: defaultdict[tuple[str, str, str], list[Samples]] = defaultdict(list)
    for found in series:
        labels = found.labels
        key = (labels.get("__name__", ""), labels.get("pod", ""), labels.get("container", ""))
        containers[key].append(found.samples)
    pods: defaultdict[tuple[str, str], list[Samples]] = defaultdict(list)
    for (name, pod, _), parts in containers.items():
        pods[(name, pod)].append(_combined(parts, math.fsum))
    return {key: _combined(parts, max) for key, parts in pods.items()}
