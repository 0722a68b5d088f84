from __future__ import annotations

import random
import statistics

import pytest

from simpipe_devstack.bench_stats import percentile, report


@pytest.mark.parametrize("size", [1, 2, 3, 4, 10, 11, 200, 201])
def test_p50_is_the_median(size: int) -> None:
    prng = random.Random(size)
    samples = [prng.uniform(0.001, 2.0) for _ in range(size)]
    assert percentile(samples, 0.5) == statistics.median(samples)


@pytest.mark.parametrize("size", [2, 3, 15, 200])
def test_it_is_the_inclusive_rule_of_statistics_quantiles(size: int) -> None:
    samples = [random.Random(size).uniform(0.0, 1.0) for _ in range(size)]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    for q in (1, 25, 50, 90, 99):
        assert percentile(samples, q / 100) == pytest.approx(cuts[q - 1])


def test_one_sample_is_every_quantile_of_itself() -> None:
    for q in (0.0, 0.01, 0.5, 0.99, 1.0):
        assert percentile([0.25], q) == 0.25


def test_the_endpoints_are_the_minimum_and_the_maximum() -> None:
    samples = [3.0, 1.0, 4.0, 1.5, 9.0, 2.5]
    assert percentile(samples, 0.0) == 1.0
    assert percentile(samples, 1.0) == 9.0


def test_between_ranks_it_interpolates() -> None:
    # Ranks 0..4: q=0.99 is rank 3.96, 96% of the way from 40 to 50.
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.99) == pytest.approx(49.6)
    assert percentile([10.0, 20.0], 0.25) == pytest.approx(12.5)


def test_no_samples_or_a_quantile_outside_0_1_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 1.5)


def test_report_prints_one_line_of_p50_p99_and_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    report("thing", [0.010, 0.020, 0.030], [0.005, 0.010, 0.015], "raw thing")
    assert capsys.readouterr().out == (
        "\n[bench] thing: n=3 p50=20.0 ms p99=29.8 ms | raw thing: p50=10.0 ms p99=14.9 ms"
        " | ratio p50=2.00 p99=2.00\n"
    )
    report("thing", [0.010], [0.005], "raw", decimals=2)
    assert "p50=10.00 ms p99=10.00 ms | raw: p50=5.00 ms" in capsys.readouterr().out


def test_rss_of_this_process_and_of_one_gone() -> None:
    import math
    import os

    from simpipe_devstack.bench_stats import rss_mib

    assert rss_mib(os.getpid()) > 1
    assert math.isnan(rss_mib(2**22 + 1))  # above the kernel's pid_max
