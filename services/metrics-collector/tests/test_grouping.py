"""Raw cAdvisor series become one series per (metric, pod)."""

from simpipe_metrics_collector.grouping import number_text, per_pod
from simpipe_metrics_collector.prometheus import Samples, Series

CPU = "container_cpu_usage_seconds_total"
NET = "container_network_receive_bytes_total"


def series(labels: dict[str, str], *samples: tuple[float, str]) -> Series:
    return Series(labels, Samples([t for t, _ in samples], [v for _, v in samples]))


def pairs(found: Samples) -> list[tuple[float, str]]:
    return list(zip(found.timestamps, found.values, strict=True))


def test_a_single_series_keeps_prometheus_text() -> None:
    found = per_pod([series({"__name__": CPU, "pod": "p", "container": "main"}, (1.0, "1e-3"))])
    assert {k: pairs(v) for k, v in found.items()} == {(CPU, "p"): [(1.0, "1e-3")]}


def test_a_containers_dimensions_are_summed() -> None:
    labels = {"__name__": NET, "pod": "p", "container": "main"}
    found = per_pod(
        [
            series({**labels, "interface": "eth0"}, (1.0, "10"), (2.0, "20")),
            series({**labels, "interface": "eth1"}, (1.0, "1.5"), (2.0, "2")),
        ]
    )
    assert {k: pairs(v) for k, v in found.items()} == {(NET, "p"): [(1.0, "11.5"), (2.0, "22")]}


def test_dimensions_on_different_times_are_summed_where_they_meet() -> None:
    labels = {"__name__": NET, "pod": "p", "container": "main"}
    found = per_pod(
        [
            series({**labels, "interface": "eth0"}, (1.0, "10"), (2.0, "20")),
            series({**labels, "interface": "eth1"}, (2.0, "2"), (3.0, "3")),
        ]
    )
    assert pairs(found[(NET, "p")]) == [(1.0, "10"), (2.0, "22"), (3.0, "3")]


def test_a_pod_level_metric_is_its_largest_container_at_each_time() -> None:
    # On KWOK every container reports it (the idle `wait` sidecar 0); on a
    # real node only the one holding the network namespace.
    found = per_pod(
        [
            series({"__name__": NET, "pod": "p", "container": "wait"}, (1.0, "0"), (2.0, "9")),
            series({"__name__": NET, "pod": "p", "container": "main"}, (1.0, "5"), (2.0, "7")),
            series({"__name__": NET, "pod": "q", "container": "main"}, (1.0, "3")),
        ]
    )
    assert {k: pairs(v) for k, v in found.items()} == {
        (NET, "p"): [(1.0, "5"), (2.0, "9")],
        (NET, "q"): [(1.0, "3")],
    }


def test_equal_containers_are_one_series_with_prometheus_text() -> None:
    labels = {"__name__": NET, "pod": "p"}
    found = per_pod(
        [
            series({**labels, "container": "main"}, (1.0, "1e3")),
            series({**labels, "container": "wait"}, (1.0, "1e3")),
        ]
    )
    assert pairs(found[(NET, "p")]) == [(1.0, "1e3")]


def test_rates_have_no_metric_name() -> None:
    found = per_pod([series({"pod": "p", "container": "main"}, (1.0, "0.5"))])
    assert {k: pairs(v) for k, v in found.items()} == {("", "p"): [(1.0, "0.5")]}


def test_sums_are_written_like_prometheus_numbers() -> None:
    assert number_text(268435456.0) == "268435456"
    assert number_text(1.25) == "1.25"
