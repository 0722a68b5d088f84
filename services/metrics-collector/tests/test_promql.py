"""The PromQL builder: a label value can never change a query's shape."""

import pytest

from simpipe_common.errors import InvalidInputError
from simpipe_metrics_collector import catalog, promql

CPU = catalog.CPU
PODS = ["run-a-crunch-123", "run-a-prepare-456"]


def test_one_query_for_all_pods_and_metrics_of_a_run() -> None:
    assert promql.series_queries([CPU, catalog.MEMORY], "simpipe", PODS) == [
        '{__name__=~"container_cpu_usage_seconds_total|container_memory_working_set_bytes",'
        'namespace="simpipe",pod=~"run-a-crunch-123|run-a-prepare-456",container="main"}'
    ]


def test_pod_level_metrics_are_asked_apart_and_not_filtered_by_container() -> None:
    container, pod_level = promql.series_queries(
        [CPU, catalog.NETWORK_RECEIVE, catalog.MEMORY], "simpipe", PODS[:1]
    )
    assert container == (
        '{__name__=~"container_cpu_usage_seconds_total|container_memory_working_set_bytes",'
        'namespace="simpipe",pod=~"run-a-crunch-123",container="main"}'
    )
    assert pod_level == (
        '{__name__=~"container_network_receive_bytes_total",namespace="simpipe",'
        'pod=~"run-a-crunch-123"}'
    )


def test_rate_of_a_counter() -> None:
    assert promql.rate_query(CPU, "simpipe", PODS[:1], 3) == (
        'rate({__name__=~"container_cpu_usage_seconds_total",namespace="simpipe",'
        'pod=~"run-a-crunch-123",container="main"}[3s])'
    )


def test_dots_in_pod_names_match_only_dots() -> None:
    assert promql.pod_alternation(["a.b-1", "c"]) == r"a\.b-1|c"
    # In the string literal the regex's backslash is escaped once more.
    assert 'pod=~"a\\\\.b-1|c"' in promql.selector([CPU], "ns", ["a.b-1", "c"])


def test_repeated_pods_are_asked_once() -> None:
    assert promql.pod_alternation(["a", "b", "a"]) == "a|b"


INJECTIONS = [
    'x"} or vector(1) #',
    'x",pod=~".*',
    "x\\",
    'x\\"',
    ".*",
    "a|b",
    "a)|(.*",
    "x\ny",
    "x\x00",
    "x{1}",
    "Pod-Upper",
    "",
    "-leading",
    "a" * 254,
    "ünïcode",
    "x y",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_a_pod_name_is_rejected(value: str) -> None:
    with pytest.raises(InvalidInputError):
        promql.series_queries([CPU], "simpipe", ["ok-pod", value])


@pytest.mark.parametrize("value", [v for v in INJECTIONS if v])
def test_injection_in_the_namespace_is_rejected(value: str) -> None:
    with pytest.raises(InvalidInputError):
        promql.series_queries([CPU], value, PODS)


def test_no_pods_is_refused_rather_than_matching_every_series_without_a_pod() -> None:
    with pytest.raises(InvalidInputError):
        promql.series_queries([CPU], "simpipe", [])


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('"} or vector(1) #', '"\\"} or vector(1) #"'),
        ("back\\slash", '"back\\\\slash"'),
        ("new\nline", '"new\\nline"'),
        ("nul\x00", '"nul\\u0000"'),
        ("ünï", '"ünï"'),
    ],
)
def test_string_literals_escape_what_could_end_them(value: str, literal: str) -> None:
    # Defence in depth: even a value that got past validation stays a string.
    assert promql.string_literal(value) == literal


@pytest.mark.parametrize(
    ("value", "regex"),
    [(".*", r"\.\*"), ("a|b", r"a\|b"), ("(x)", r"\(x\)"), ("[^a]{2}$", r"\[\^a\]\{2\}\$")],
)
def test_regex_metacharacters_are_escaped(value: str, regex: str) -> None:
    assert promql.regex_literal(value) == regex


@pytest.mark.parametrize("window", [0, -1, promql.MAX_WINDOW_SECONDS + 1])
def test_rate_windows_out_of_range_are_refused(window: int) -> None:
    with pytest.raises(InvalidInputError):
        promql.rate_query(CPU, "simpipe", PODS, window)


def test_every_original_name_maps_to_a_cadvisor_series() -> None:
    original = {
        "cpuSystemSecondsTotal", "cpuUsageSecondsTotal", "cpuUserSecondsTotal", "fileDescriptors",
        "fsInodesFree", "fsInodesTotal", "fsIoCurrent", "fsIoTimeSecondsTotal",
        "fsIoTimeWeightedSecondsTotal", "fsLimitBytes", "fsReadSecondsTotal", "fsReadsMergedTotal",
        "fsReadsTotal", "fsSectorReadsTotal", "fsSectorWritesTotal", "fsUsageBytes",
        "fsWriteSecondsTotal", "fsWritesMergedTotal", "fsWritesTotal", "memoryCache",
        "memoryFailcnt", "memoryFailuresTotal", "memoryMappedFile", "memoryMaxUsageBytes",
        "memoryRss", "memorySwap", "memoryUsageBytes", "memoryWorkingSetBytes",
        "networkReceiveBytesTotal", "networkReceiveErrorsTotal",
        "networkReceivePacketsDroppedTotal", "networkReceivePacketsTotal",
        "networkTransmitBytesTotal", "networkTransmitErrorsTotal",
        "networkTransmitPacketsDroppedTotal", "networkTransmitPacketsTotal", "processes",
        "sockets", "threads", "threadsMax", "ulimitsSoft",
    }  # fmt: skip
    assert original <= set(catalog.METRICS)
    assert all(m.series.startswith("container_") for m in catalog.METRICS.values())
    assert catalog.METRICS["memoryWorkingSetBytes"].series == "container_memory_working_set_bytes"


def test_unknown_metric_names_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        catalog.metrics_named(['cpuUsageSecondsTotal"} or vector(1)'])
    assert catalog.metrics_named([]) == list(catalog.METRICS.values())
