"""Summaries against values computed by hand."""

import pytest

from simpipe_common.energy import EnergyModel
from simpipe_metrics_collector.prometheus import Samples
from simpipe_metrics_collector.summaries import (
    StepSamples,
    Window,
    counter_total,
    measure_step,
    parse,
    summarise_run,
    sustained,
)

MODEL = EnergyModel(watts_per_core=10.0, watts_per_gb_memory=0.5, grid_g_co2_per_kwh=300.0)
GIB = 2**30


def test_counter_total_is_the_last_value_of_a_counter_starting_at_zero() -> None:
    assert counter_total([(0, 0.4), (1, 1.4), (2, 2.4), (3, 2.4)]) == 2.4


def test_counter_total_adds_what_was_counted_before_each_reset() -> None:
    # A restarted container: 5 counted, then it starts again from 0 and counts 3.
    assert counter_total([(0, 2), (1, 5), (2, 1), (3, 3)]) == 8


def test_parse_keeps_prometheus_numbers_and_drops_nan() -> None:
    samples = Samples((1.0, 2.0, 3.0, 4.0), ("1.5", "NaN", "+Inf", "2e3"))
    assert parse(samples) == [
        (1.0, 1.5),
        (4.0, 2000.0),
    ]


def cpu_step(start: float, seconds: int, cores: float, memory: float) -> StepSamples:
    """A step as KWOK emulates it, sampled every second (counters frozen after the end)."""
    times = range(int(start), int(start) + seconds + 3)
    return StepSamples(
        cpu_counter=[(t, cores * min(t - start, seconds)) for t in times],
        cpu_rate=[(t, cores if t - start <= seconds else 0.0) for t in times],
        memory=[(t, memory if t - start < seconds else 0.0) for t in times],
        network_receive=[(t, 1000.0 * min(t - start, seconds)) for t in times],
        fs_write=[(t, 10.0 * min(t - start, seconds)) for t in times],
    )


def test_step_summary_by_hand() -> None:
    window = Window(100.0, 106.0)
    measured = measure_step(cpu_step(100.0, 6, 1.5, GIB), window, 2.0, MODEL)
    summary = measured.summary
    assert summary.duration_seconds == 6
    assert summary.cpu_seconds == pytest.approx(9.0)
    assert summary.avg_cpu_cores == pytest.approx(1.5)
    assert summary.max_cpu_cores == pytest.approx(1.5)
    assert summary.max_memory_bytes == GIB
    # 7 samples in [100, 106], the one at the end already 0.
    assert summary.avg_memory_bytes == pytest.approx(GIB * 6 / 7)
    assert summary.network_receive_bytes == 6000
    assert summary.fs_write_bytes == 60
    assert summary.network_transmit_bytes == summary.fs_read_bytes == 0
    joules = 9.0 * 10.0 + (GIB * 6 / 7) * 6 / 1e9 * 0.5
    assert summary.energy_kwh == pytest.approx(joules / 3.6e6)
    assert summary.carbon_g_co2 == pytest.approx(joules / 3.6e6 * 300)


def test_run_summary_adds_parallel_steps_and_averages_over_the_run() -> None:
    first = measure_step(cpu_step(100.0, 4, 1.0, GIB), Window(100.0, 104.0), 2.0, MODEL)
    second = measure_step(cpu_step(102.0, 4, 0.5, 2 * GIB), Window(102.0, 106.0), 2.0, MODEL)
    run = summarise_run([first, second], Window(99.0, 107.0), MODEL)
    assert run.duration_seconds == 8
    assert run.cpu_seconds == pytest.approx(4.0 + 2.0)
    assert run.avg_cpu_cores == pytest.approx(6.0 / 8)
    # 102..104: both run, 1.0 + 0.5 cores, 1 + 2 GiB.
    assert run.max_cpu_cores == pytest.approx(1.5)
    assert run.max_memory_bytes == 3 * GIB
    memory_byte_seconds = first.summary.avg_memory_bytes * 4 + second.summary.avg_memory_bytes * 4
    assert run.avg_memory_bytes == pytest.approx(memory_byte_seconds / 8)
    assert run.energy_kwh == pytest.approx(first.summary.energy_kwh + second.summary.energy_kwh)
    assert run.network_receive_bytes == 8000


def test_a_step_without_samples_used_nothing() -> None:
    measured = measure_step(StepSamples(), Window(0.0, 5.0), 2.0, MODEL)
    assert measured.summary.cpu_seconds == measured.summary.max_memory_bytes == 0
    assert measured.summary.duration_seconds == 5
    assert summarise_run([], Window(0.0, 0.0), MODEL).avg_cpu_cores == 0


def late_scrape_rates(cores: float, late: float) -> list[float]:
    """rate() over 3 s windows of a constant `cores` counter sampled every
    second, one answer (at 103) computed `late` seconds after its timestamp:
    Prometheus's rate is (last - first) / (their time apart), extrapolated."""
    times = [100.0 + i for i in range(8)]
    counter = [cores * (t - 100 + (late if t == 103 else 0.0)) for t in times]
    return [(counter[i] - counter[i - 2]) / (times[i] - times[i - 2]) for i in range(2, len(times))]


def test_one_late_emulated_scrape_does_not_make_a_peak() -> None:
    rates = late_scrape_rates(0.5, late=0.5)
    assert max(rates) == pytest.approx(0.625), "the lone outlier the filter is for"
    points = [(float(i), v) for i, v in enumerate(rates)]
    measured = measure_step(
        StepSamples(cpu_rate=points), Window(0.0, len(points) - 1.0), 2.0, MODEL
    )
    assert measured.summary.max_cpu_cores == pytest.approx(0.5)


def test_a_peak_held_by_two_rate_samples_is_kept() -> None:
    points = [(0.0, 0.1), (1.0, 0.1), (2.0, 2.0), (3.0, 2.0), (4.0, 0.1), (5.0, 0.1)]
    assert max(v for _, v in sustained(points)) == 2.0
    # At the edges too: the window stays inside the series.
    assert sustained([(0.0, 2.0), (1.0, 2.0), (2.0, 0.1)])[0] == (0.0, 2.0)
    assert sustained([(0.0, 0.1), (1.0, 2.0), (2.0, 2.0)])[2] == (2.0, 2.0)


def test_a_lone_sample_above_its_neighbours_is_lowered_to_them() -> None:
    points = [(0.0, 9.0), (1.0, 1.0), (2.0, 1.0), (3.0, 7.0)]
    assert sustained(points) == [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]


def test_fewer_than_three_samples_are_kept_as_they_are() -> None:
    assert sustained([]) == []
    assert sustained([(5.0, 0.7)]) == [(5.0, 0.7)]
    assert sustained([(5.0, 0.25), (6.0, 0.47)]) == [(5.0, 0.25), (6.0, 0.47)]


def test_a_short_steps_low_first_and_last_rates_do_not_lower_its_peak() -> None:
    # A 4 s step whose series began 2 s in (Prometheus found its pod late):
    # rate() is low at the series' start and after the step's end.
    points = [(1.0, 0.249), (2.0, 0.468), (3.0, 0.468), (4.0, 0.146)]
    assert max(v for _, v in sustained(points)) == 0.468
