"""Quantiles and report lines shared by the benchmarks in tests/bench, so every
figure they print is computed by the same rule."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q` quantile (0 <= q <= 1) of `samples`, interpolated linearly
    between the two nearest ranks (the "inclusive" method of
    statistics.quantiles): q=0.5 is statistics.median, q=0 the minimum, q=1
    the maximum; one sample is every quantile of itself."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q} outside [0, 1]")
    ordered = sorted(samples)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    # Weighted this way, half-way between two ranks is exactly their mean.
    return ordered[below] * (1 - fraction) + ordered[above] * fraction


def report(
    name: str, ours: Sequence[float], raw: Sequence[float], raw_name: str, decimals: int = 1
) -> None:
    """Prints p50 and p99 (in ms) of `ours` next to those of `raw` (seconds
    measured in the same run) and their ratios, on one `[bench]` line."""
    p50, p99 = percentile(ours, 0.5) * 1000, percentile(ours, 0.99) * 1000
    r50, r99 = percentile(raw, 0.5) * 1000, percentile(raw, 0.99) * 1000
    d = decimals
    print(
        f"\n[bench] {name}: n={len(ours)} p50={p50:.{d}f} ms p99={p99:.{d}f} ms | {raw_name}: "
        f"p50={r50:.{d}f} ms p99={r99:.{d}f} ms | ratio p50={p50 / r50:.2f} p99={p99 / r99:.2f}"
    )


def rss_mib(pid: int) -> float:
    """A process's resident memory in MiB (NaN once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return math.nan
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan
