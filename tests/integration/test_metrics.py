"""Step metrics on the real stack: KWOK emulates known usage per step (pod
annotations), Prometheus scrapes it, and the metrics-collector's series,
summaries, energy figures and run report, through gRPC and the gateway's
GraphQL API, give those values back within sampling error."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Awaitable
from typing import Any

import grpc
import httpx
import nats
import pyarrow.parquet as pq
import pytest

from simpipe.v1 import events_pb2, metrics_collector_pb2_grpc
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_events import contract
from simpipe_events.last_event import last_event

DEV, GUEST = "local-dev", "local-guest"
MIB = 2**20
STEPS = (
    # Long enough for three whole 3 s rate windows: the peak is what two of
    # three consecutive rate samples reach (README, step metrics).
    SimulatedStep("prepare", seconds=8, cpu_millicores=500, memory_mib=64, fs_write_kib_per_s=256),
    SimulatedStep(
        "crunch", seconds=7, cpu_millicores=1500, memory_mib=256, network_receive_kib_per_s=1024
    ),
)
BY_NAME = {s.name: s for s in STEPS}
SUMMARY = """durationSeconds cpuSeconds maxCpuCores avgCpuCores maxMemoryBytes avgMemoryBytes
  networkReceiveBytes networkTransmitBytes fsReadBytes fsWriteBytes energyKwh carbonGCo2"""
RUN_METRICS = f"""query($id: String!) {{ dryRun(dryRunId: $id) {{
  metricsSummary {{ run {{ {SUMMARY} }} energyModel {{ wattsPerCore wattsPerGbMemory gridGCo2PerKwh }}
    steps {{ nodeId displayName }} }}
  nodes {{ ... on DryRunNodePod {{ id displayName podName duration metrics {{
    cpuUsageSecondsTotal {{ timestamp value }}
    memoryWorkingSetBytes {{ timestamp value }}
    networkReceiveBytesTotal {{ timestamp value }}
    fsWritesBytesTotal {{ timestamp value }}
    memoryRss {{ timestamp value }}
    summary {{ {SUMMARY} }} }} }} }} }} }}"""
REPORT = """query($id: String!) { dryRun(dryRunId: $id) { report {
  uid phase url parquetUrl summary { run { cpuSeconds } steps { displayName } } } } }"""


def gql_client(stack: Stack, endpoints: dict[str, str], user: str) -> AsyncSimpipe:
    return AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[user])


async def _run_to_the_end(
    gql: AsyncSimpipe, nats_url: str, mesh: ServiceSettings, run_id: str
) -> None:
    document = simulated_pipeline(STEPS, argo_service("http://unused")).to_dict()
    await gql.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"dryRunId": run_id, "placement": "VIRTUAL_NODES", "argoWorkflow": document},
    )
    query = "query($id: String!) { dryRun(dryRunId: $id) { status { phase } } }"
    run = await finished_dry_run(gql, query, run_id, seconds=120)
    assert run["status"]["phase"] == "Succeeded"
    # The collector announces a run's metrics once its last scrapes are in.
    await _metrics_ready(nats_url, mesh, run_id)


@pytest.fixture(scope="module")
def run_id(stack: Stack, endpoints: dict[str, str], mesh: ServiceSettings) -> str:
    """One finished dry run of STEPS, shared by the tests of this module."""
    found = f"metrics-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        gql = gql_client(stack, endpoints, DEV)
        try:
            await _run_to_the_end(gql, endpoints["nats"], mesh, found)
        finally:
            await gql.aclose()

    asyncio.run(run())
    return found


def values(samples: list[dict[str, Any]]) -> list[float]:
    return [float(s["value"]) for s in samples]


async def pods_of(dev: AsyncSimpipe, run_id: str) -> dict[str, dict[str, Any]]:
    run = (await dev.graphql(RUN_METRICS, id=run_id))["dryRun"]
    return {n["displayName"]: n for n in run["nodes"] if n}


@pytest.mark.timeout(180)
async def test_series_give_back_the_emulated_usage(dev: AsyncSimpipe, run_id: str) -> None:
    pods = await pods_of(dev, run_id)
    assert sorted(pods) == sorted(BY_NAME)
    for name, step in BY_NAME.items():
        metrics = pods[name]["metrics"]
        cores = step.cpu_millicores / 1000
        cpu = values(metrics["cpuUsageSecondsTotal"])
        assert cpu, name
        # KWOK's counter is cores x elapsed step time, frozen at the end.
        assert max(cpu) == pytest.approx(cores * step.seconds, rel=0.02)
        assert cpu == sorted(cpu), "a counter never decreases within a step"
        assert max(values(metrics["memoryWorkingSetBytes"])) == step.memory_mib * MIB
        network = values(metrics["networkReceiveBytesTotal"])
        assert max(network) == pytest.approx(
            step.network_receive_kib_per_s * 1024 * step.seconds, rel=0.02, abs=1
        )
        fs = values(metrics["fsWritesBytesTotal"])
        assert max(fs) == pytest.approx(
            step.fs_write_kib_per_s * 1024 * step.seconds, rel=0.02, abs=1
        )
        # KWOK emulates no RSS: an empty series, not an error.
        assert metrics["memoryRss"] == []
        timestamps = [s["timestamp"] for s in metrics["cpuUsageSecondsTotal"]]
        assert timestamps == sorted(timestamps)


@pytest.mark.timeout(180)
async def test_summaries_match_hand_computed_values(dev: AsyncSimpipe, run_id: str) -> None:
    run = (await dev.graphql(RUN_METRICS, id=run_id))["dryRun"]
    model = run["metricsSummary"]["energyModel"]
    pods = {n["displayName"]: n for n in run["nodes"] if n}
    step_summaries = []
    for name, step in BY_NAME.items():
        summary = pods[name]["metrics"]["summary"]
        step_summaries.append(summary)
        cores = step.cpu_millicores / 1000
        assert summary["cpuSeconds"] == pytest.approx(cores * step.seconds, rel=0.02)
        # rate() over 3 s windows of 1 s samples, while the step ran, held by two samples.
        assert summary["maxCpuCores"] == pytest.approx(cores, rel=0.1)
        assert summary["avgCpuCores"] == pytest.approx(
            summary["cpuSeconds"] / summary["durationSeconds"]
        )
        # Argo's times include scheduling: never shorter than the simulated run.
        assert step.seconds - 1 <= summary["durationSeconds"] <= step.seconds + 3
        assert summary["maxMemoryBytes"] == step.memory_mib * MIB
        # Samples while the pod was not Running yet (or any more) read 0.
        assert summary["avgMemoryBytes"] == pytest.approx(step.memory_mib * MIB, rel=0.3)
        assert summary["networkReceiveBytes"] == pytest.approx(
            step.network_receive_kib_per_s * 1024 * step.seconds, rel=0.02, abs=1
        )
        assert summary["fsWriteBytes"] == pytest.approx(
            step.fs_write_kib_per_s * 1024 * step.seconds, rel=0.02, abs=1
        )
        joules = (
            summary["cpuSeconds"] * model["wattsPerCore"]
            + summary["avgMemoryBytes"]
            / 1e9
            * summary["durationSeconds"]
            * model["wattsPerGbMemory"]
        )
        assert summary["energyKwh"] == pytest.approx(joules / 3.6e6)
        assert summary["carbonGCo2"] == pytest.approx(
            summary["energyKwh"] * model["gridGCo2PerKwh"]
        )
    total = run["metricsSummary"]["run"]
    assert total["cpuSeconds"] == pytest.approx(sum(s["cpuSeconds"] for s in step_summaries))
    # Sequential steps: the run's peak is the busiest step's.
    assert total["maxCpuCores"] == pytest.approx(max(s["maxCpuCores"] for s in step_summaries))
    assert total["maxMemoryBytes"] == max(s["maxMemoryBytes"] for s in step_summaries)
    assert total["durationSeconds"] >= sum(s["durationSeconds"] for s in step_summaries)
    assert total["avgCpuCores"] == pytest.approx(total["cpuSeconds"] / total["durationSeconds"])
    assert total["energyKwh"] == pytest.approx(sum(s["energyKwh"] for s in step_summaries))


@pytest.mark.timeout(120)
async def test_another_caller_sees_no_metrics_or_report(
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub, run_id: str
) -> None:
    calls: list[Awaitable[object]] = [
        collector.GetStepSeries(pb.GetStepSeriesRequest(caller=GUEST, dry_run_id=run_id)),
        collector.GetRunSummary(pb.DryRunMetricsRef(caller=GUEST, dry_run_id=run_id)),
        collector.GetRunReport(pb.DryRunMetricsRef(caller=GUEST, dry_run_id=run_id)),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


INJECTIONS = ['x"} or vector(1) #', "x\\", 'a",pod=~".*', ".*", "a|b", "x\ny", "UPPER"]


@pytest.mark.parametrize("value", INJECTIONS)
async def test_an_injection_in_any_label_value_is_rejected_through_grpc(
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub, run_id: str, value: str
) -> None:
    requests = [
        pb.GetStepSeriesRequest(caller=DEV, dry_run_id=value),
        pb.GetStepSeriesRequest(caller=DEV, dry_run_id=run_id, node_ids=[value]),
        pb.GetStepSeriesRequest(caller=DEV, dry_run_id=run_id, metrics=[value]),
    ]
    for request in requests:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await collector.GetStepSeries(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request


@pytest.mark.parametrize(
    "query",
    [
        "query($v: String!) { getAggregatedNodesMetrics(dryRunIds: [$v]) { nodeName } }",
        'query($v: String!) { getAggregatedNodesMetrics(dryRunIds: ["x"], aggregateMethod: $v) { nodeName } }',
        'query($v: String!) { computeScalingLawsFromNodesMetrics(dryRunIds: ["x"], data_x: [1], regressionMethod: $v) { nodeName } }',
        "query($v: String!) { dryRun(dryRunId: $v) { id } }",
    ],
)
async def test_an_injection_is_rejected_through_graphql(dev: AsyncSimpipe, query: str) -> None:
    for value in INJECTIONS:
        with pytest.raises(GraphQLError) as caught:
            await dev.graphql(query, v=value)
        assert caught.value.codes == ["INPUT_VALIDATION_ERROR"], (query, value)


@pytest.mark.timeout(180)
async def test_aggregated_metrics_and_scaling_laws_of_dry_runs(
    dev: AsyncSimpipe, run_id: str
) -> None:
    aggregated = (
        await dev.graphql(
            """query($id: String!) { getAggregatedNodesMetrics(dryRunIds: [$id, $id], aggregateMethod: "max") {
              nodeName data { cpu mem fileSize duration nodeId } } }""",
            id=run_id,
        )
    )["getAggregatedNodesMetrics"]
    by_name = {n["nodeName"]: n["data"] for n in aggregated}
    assert sorted(by_name) == sorted(BY_NAME)
    for name, step in BY_NAME.items():
        data = by_name[name]
        assert data["cpu"][0] == pytest.approx(step.cpu_millicores / 1000, rel=0.1)
        assert data["mem"] == [step.memory_mib * MIB] * 2
        assert data["fileSize"] == [0.0, 0.0]
    laws_query = """query($id: String!, $method: String) {
      computeScalingLawsFromNodesMetrics(dryRunIds: [$id, $id], data_x: [1, 2],
        aggregateMethod: $method) { nodeName mem { coeffs type r2 } } }"""

    async def crunch_memory_law(method: str | None) -> dict[str, Any]:
        laws = (await dev.graphql(laws_query, id=run_id, method=method))[
            "computeScalingLawsFromNodesMetrics"
        ]
        found: dict[str, Any] = next(law["mem"] for law in laws if law["nodeName"] == "crunch")
        return found

    # The same run twice: memory does not grow with data_x.
    peak = await crunch_memory_law("max")
    assert peak["type"] == "linear"
    assert peak["coeffs"] == pytest.approx([256 * MIB, 0], abs=1e-3)
    # By default the law fits each run's average memory, as the original. A
    # scrape while the pod was still Pending (KWOK emulates 0 bytes then)
    # lowers the average, so it is the aggregation's figure, near the peak.
    average = (
        await dev.graphql(
            """query($id: String!) { getAggregatedNodesMetrics(dryRunIds: [$id]) {
              nodeName data { mem } } }""",
            id=run_id,
        )
    )["getAggregatedNodesMetrics"]
    crunch_average = next(n["data"]["mem"][0] for n in average if n["nodeName"] == "crunch")
    assert crunch_average == pytest.approx(256 * MIB, rel=0.3)
    assert (await crunch_memory_law(None))["coeffs"] == pytest.approx([crunch_average, 0], abs=1e-3)


async def test_scaling_laws_and_predictions_from_given_metrics(dev: AsyncSimpipe) -> None:
    x = [1.0, 2.0, 4.0, 8.0]
    nodes = [
        {
            "nodeName": "grow",
            "data": {
                "cpu": [0.5 * v**0.5 for v in x],
                "mem": [1e6 * v**1.2 for v in x],
                "duration": [3.0 * v for v in x],
                "fileSize": x,
                "nodeId": ["a", "b", "c", "d"],
            },
        }
    ]
    found = await dev.graphql(
        """query($n: [NodesAggregatedNodeMetricsInput!], $x: [Float]!) {
          laws: computeScalingLawsFromNodesMetrics(nodesAggregatedNodeMetrics: $n, data_x: $x, regressionMethod: "power") {
            nodeName cpu { coeffs type r2 } mem { coeffs } duration { coeffs } }
          prediction: predictScaling(nodesAggregatedNodeMetrics: $n, data_x: $x, data_x_to_predict: 16, regressionMethod: "power") {
            cpu mem duration steps { nodeName duration } } }""",
        n=nodes,
        x=x,
    )
    law = found["laws"][0]
    assert law["cpu"]["coeffs"] == pytest.approx([0.5, 0.5])
    assert law["cpu"]["r2"] == pytest.approx(1.0)
    assert law["mem"]["coeffs"] == pytest.approx([1e6, 1.2])
    assert law["duration"]["coeffs"] == pytest.approx([3.0, 1.0])
    assert found["prediction"]["duration"] == pytest.approx(48.0)
    assert found["prediction"]["cpu"] == pytest.approx(2.0)
    assert found["prediction"]["steps"] == [{"nodeName": "grow", "duration": pytest.approx(48.0)}]
    with pytest.raises(GraphQLError) as mismatched:
        await dev.graphql(
            """query($n: [NodesAggregatedNodeMetricsInput!]) { computeScalingLawsFromNodesMetrics(
              nodesAggregatedNodeMetrics: $n, data_x: [1, 2, 3]) { nodeName } }""",
            n=nodes,
        )
    assert mismatched.value.codes == ["INPUT_VALIDATION_ERROR"]


async def _report(dev: AsyncSimpipe, run_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            report = (await dev.graphql(REPORT, id=run_id))["dryRun"]["report"]
            if report is not None:
                found: dict[str, Any] = report
                return found
            await asyncio.sleep(1)


@pytest.mark.timeout(240)
async def test_report_is_complete_and_outlives_the_workflow(
    dev: AsyncSimpipe,
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub,
    endpoints: dict[str, str],
    mesh: ServiceSettings,
    run_id: str,
) -> None:
    report = await _report(dev, run_id)
    assert report["phase"] == "Succeeded"
    assert sorted(s["displayName"] for s in report["summary"]["steps"]) == sorted(BY_NAME)
    async with httpx.AsyncClient(timeout=30) as http:
        document = (await http.get(report["url"])).raise_for_status().json()
        parquet = (await http.get(report["parquetUrl"])).raise_for_status().content
    assert document["uid"] == report["uid"]
    assert document["dryRunId"] == run_id
    steps = {s["displayName"]: s for s in document["steps"]}
    crunch = BY_NAME["crunch"]
    series = steps["crunch"]["series"]
    assert max(float(v) for _, v in series["cpuUsageSecondsTotal"]) == pytest.approx(
        crunch.cpu_millicores / 1000 * crunch.seconds, rel=0.02
    )
    assert "memoryRss" in series  # every metric, empty where KWOK emulates none
    table = pq.read_table(io.BytesIO(parquet))
    assert table.column_names == [
        "node_id", "display_name", "pod_name", "metric", "timestamp", "value",
    ]  # fmt: skip
    rows = table.to_pylist()
    assert {r["display_name"] for r in rows} == set(BY_NAME)
    assert sum(len(v) for s in document["steps"] for v in s["series"].values()) == len(rows)

    ready = await _metrics_ready(endpoints["nats"], mesh, run_id)
    assert ready.meta.event_id == f"metrics:{report['uid']}"
    assert (ready.uid, ready.owner, contract.run_phase_name(ready.phase)) == (
        report["uid"], DEV, report["phase"],
    )  # fmt: skip
    assert ready.json_key.endswith(f"/{run_id}/{report['uid']}/report.json")

    assert (await dev.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id))[
        "deleteDryRun"
    ]
    # Read from S3 alone: neither the Workflow nor Prometheus is asked.
    stored = await collector.GetRunReport(pb.DryRunMetricsRef(caller=DEV, dry_run_id=run_id))
    assert stored.uid == report["uid"]
    assert stored.summary.run.cpu_seconds == pytest.approx(report["summary"]["run"]["cpuSeconds"])
    async with httpx.AsyncClient(timeout=30) as http:
        again = (await http.get(stored.json_url)).raise_for_status().json()
    assert again == document


async def _metrics_ready(
    nats_url: str, mesh: ServiceSettings, run_id: str
) -> events_pb2.MetricsReady:
    """The run's announcement; the report is readable a moment before it is announced."""
    of_the_run = events_pb2.MetricsReady(owner=DEV, dry_run_id=run_id)
    connection = await nats.connect(nats_url, **connect_options(mesh))
    try:
        deadline = time.monotonic() + 60
        while (ready := await last_event(connection.jetstream(), of_the_run)) is None:
            assert time.monotonic() < deadline, f"no MetricsReady of {run_id}"
            await asyncio.sleep(0.2)
    finally:
        await connection.close()
    return ready
