"""The metrics part of the schema keeps the original SIM-PIPE names."""

from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.metrics_api import _timestamp_value
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings(introspection=True))

ORIGINAL_SERIES = [
    "cpuSystemSecondsTotal",
    "cpuUsageSecondsTotal",
    "cpuUserSecondsTotal",
    "fileDescriptors",
    "fsInodesFree",
    "fsInodesTotal",
    "fsIoCurrent",
    "fsIoTimeSecondsTotal",
    "fsIoTimeWeightedSecondsTotal",
    "fsLimitBytes",
    "fsReadSecondsTotal",
    "fsReadsMergedTotal",
    "fsReadsTotal",
    "fsSectorReadsTotal",
    "fsSectorWritesTotal",
    "fsUsageBytes",
    "fsWriteSecondsTotal",
    "fsWritesMergedTotal",
    "fsWritesTotal",
    "memoryCache",
    "memoryFailcnt",
    "memoryFailuresTotal",
    "memoryMappedFile",
    "memoryMaxUsageBytes",
    "memoryRss",
    "memorySwap",
    "memoryUsageBytes",
    "memoryWorkingSetBytes",
    "networkReceiveBytesTotal",
    "networkReceiveErrorsTotal",
    "networkReceivePacketsDroppedTotal",
    "networkReceivePacketsTotal",
    "networkTransmitBytesTotal",
    "networkTransmitErrorsTotal",
    "networkTransmitPacketsDroppedTotal",
    "networkTransmitPacketsTotal",
    "processes",
    "sockets",
    "threads",
    "threadsMax",
    "ulimitsSoft",
]


async def fields() -> dict[str, dict[str, list[str]]]:
    result = await schema.execute("{ __schema { types { name fields { name args { name } } } } }")
    assert result.errors is None
    assert result.data is not None
    return {
        t["name"]: {f["name"]: [a["name"] for a in f["args"]] for f in t["fields"] or []}
        for t in result.data["__schema"]["types"]
    }


async def test_node_metrics_have_every_original_series_with_start_end_step() -> None:
    found = await fields()
    assert "metrics" in found["DryRunNodePod"]
    for name in ORIGINAL_SERIES:
        assert found["DryRunNodeMetrics"][name] == ["start", "end", "step"], name
    assert set(found["PrometheusSample"]) == {"timestamp", "value"}


async def test_scaling_queries_keep_the_original_names_and_arguments() -> None:
    query = (await fields())["Query"]
    assert query["getAggregatedNodesMetrics"] == ["dryRunIds", "aggregateMethod"]
    assert query["computeScalingLawsFromNodesMetrics"] == [
        "dryRunIds", "nodesAggregatedNodeMetrics", "data_x", "regressionMethod", "aggregateMethod",
    ]  # fmt: skip
    assert query["predictScaling"] == [
        "data_x", "data_x_to_predict", "dryRunIds", "nodesAggregatedNodeMetrics",
        "regressionMethod", "aggregateMethod",
    ]  # fmt: skip
    types = await fields()
    assert set(types["AggregatedNodeMetrics"]) == {"cpu", "mem", "fileSize", "duration", "nodeId"}
    assert set(types["NodesScalingLaws"]) == {"nodeName", "cpu", "mem", "duration", "data"}
    assert set(types["ScalingLawData"]) == {"coeffs", "type", "r2"}
    assert {"cpu", "mem", "duration"} <= set(types["ScalingPredictions"])


async def test_energy_and_report_fields_carry_their_units() -> None:
    types = await fields()
    assert {"energyKwh", "carbonGCo2", "cpuSeconds", "maxMemoryBytes"} <= set(
        types["MetricsSummary"]
    )
    assert {"report", "metricsSummary"} <= set(types["DryRun"])
    assert {"url", "parquetUrl", "summary"} <= set(types["RunReport"])


def test_timestamps_are_unix_seconds_or_iso_text() -> None:
    assert _timestamp_value(1_700_000_000) == 1_700_000_000.0
    assert _timestamp_value("2023-11-14T22:13:20Z") == 1_700_000_000.0
