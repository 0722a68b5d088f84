"""Raw cAdvisor series become one series per (metric, pod)."""

from simpipe_metrics_collector.grouping import number_text, per_pod

CPU = "container_cpu_usage_seconds_total"
NET = "container_network_receive_bytes_total"


def test_a_single_series_keeps_prometheus_text() -> None:
    found = per_pod([({"__name__": CPU, "pod": "p", "container": "main"}, [(1.0, "1e-3")])])
    assert found == {(CPU, "p"): [(1.0, "1e-3")]}


def test_a_containers_dimensions_are_summed() -> None:
    labels = {"__name__": NET, "pod": "p", "container": "main"}
    found = per_pod(
        [
            ({**labels, "interface": "eth0"}, [(1.0, "10"), (2.0, "20")]),
            ({**labels, "interface": "eth1"}, [(1.0, "1.5"), (2.0, "2")]),
        ]
    )
    assert found == {(NET, "p"): [(1.0, "11.5"), (2.0, "22")]}


def test_a_pod_level_metric_is_its_largest_container_at_each_time() -> None:
    # On KWOK every container reports it (the idle `wait` sidecar 0); on a
    # real node only the one holding the network namespace.
    found = per_pod(
        [
            ({"__name__": NET, "pod": "p", "container": "wait"}, [(1.0, "0"), (2.0, "0")]),
            ({"__name__": NET, "pod": "p", "container": "main"}, [(2.0, "7"), (1.0, "5")]),
            ({"__name__": NET, "pod": "q", "container": "main"}, [(1.0, "3")]),
        ]
    )
    assert found == {(NET, "p"): [(1.0, "5"), (2.0, "7")], (NET, "q"): [(1.0, "3")]}


def test_rates_have_no_metric_name() -> None:
    assert per_pod([({"pod": "p", "container": "main"}, [(1.0, "0.5")])]) == {
        ("", "p"): [(1.0, "0.5")]
    }


def test_sums_are_written_like_prometheus_numbers() -> None:
    assert number_text(268435456.0) == "268435456"
    assert number_text(1.25) == "1.25"
