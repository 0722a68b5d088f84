"""A 100-step run's metrics through GraphQL on the real stack: every series
of every step in one query, in the original GUI's shape, is exactly what the
metrics-collector answers over gRPC, sample for sample and in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe.v1 import metrics_collector_pb2_grpc
from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, simulated_fan_out
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_metrics_collector import catalog

DEV = "local-dev"
STEPS = 100
STEP = SimulatedStep("work", seconds=3, cpu_millicores=250, memory_mib=32)
NODES = "query($id: String!) { dryRun(dryRunId: $id) { status { phase } nodes { ... on DryRunNodePod { id } } } }"
FIELDS = " ".join(f"{name} {{ timestamp value }}" for name in catalog.METRICS)
EVERY_SERIES = f"query($id: String!) {{ dryRun(dryRunId: $id) {{ nodes {{ ... on DryRunNodePod {{ id metrics {{ {FIELDS} }} }} }} }} }}"
SERIES_TABLE = "query($id: String!) { dryRun(dryRunId: $id) { nodes { ... on DryRunNodePod { id metrics { seriesTable } } } } }"

# (step, metric) -> its samples as (timestamp, value), in the order given.
Samples = dict[tuple[str, str], list[tuple[float, str]]]


@pytest.fixture
async def run_id(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[str]:
    """A finished run of STEPS steps, deleted afterwards whatever happened."""
    found = f"metrics-many-{uuid.uuid4().hex[:8]}"
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[DEV])
    try:
        await gql.graphql(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={
                "dryRunId": found,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": simulated_fan_out(STEP, STEPS),
            },
        )
        run = await finished_dry_run(gql, NODES, found, seconds=300)
        assert run["status"]["phase"] == "Succeeded"
        assert len([n for n in run["nodes"] if n]) == STEPS
        yield found
    finally:
        await gql.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=found)
        await gql.aclose()


async def report_written(
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub, run_id: str
) -> None:
    """Until the collector has written the run's report (it has the run's end)."""
    async with asyncio.timeout(120):
        while True:
            try:
                await collector.GetRunReport(pb.DryRunMetricsRef(caller=DEV, dry_run_id=run_id))
                return
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.5)


async def through_grpc(
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub, run_id: str
) -> Samples:
    answer = await collector.GetStepSeries(pb.GetStepSeriesRequest(caller=DEV, dry_run_id=run_id))
    return {
        (s.node_id, s.metric): list(zip(s.timestamps, s.values, strict=True)) for s in answer.series
    }


async def pod_steps(gql: AsyncSimpipe, query: str, run_id: str) -> list[dict[str, Any]]:
    """The run's steps as `query` answers them: all of them."""
    data = await gql.graphql(query, id=run_id)
    steps = [n for n in data["dryRun"]["nodes"] if n]
    assert len(steps) == STEPS
    return steps


async def through_graphql(gql: AsyncSimpipe, run_id: str) -> Samples:
    found: Samples = {}
    for step in await pod_steps(gql, EVERY_SERIES, run_id):
        # Every series, by its original name, a list of {timestamp value}.
        assert set(step["metrics"]) == set(catalog.METRICS)
        for metric, samples in step["metrics"].items():
            assert all(set(s) == {"timestamp", "value"} for s in samples)
            found[(step["id"], metric)] = [(s["timestamp"], s["value"]) for s in samples]
    return found


async def through_series_table(gql: AsyncSimpipe, run_id: str) -> Samples:
    found: Samples = {}
    for step in await pod_steps(gql, SERIES_TABLE, run_id):
        table = step["metrics"]["seriesTable"]
        assert set(table) == set(catalog.METRICS)
        for metric, columns in table.items():
            found[(step["id"], metric)] = list(
                zip(columns["timestamps"], columns["values"], strict=True)
            )
    return found


@pytest.mark.timeout(600)
async def test_every_series_of_100_steps_is_complete_and_in_order(
    dev: AsyncSimpipe,
    collector: metrics_collector_pb2_grpc.MetricsCollectorAsyncStub,
    run_id: str,
) -> None:
    await report_written(collector, run_id)
    # The GraphQL answer read between two equal gRPC answers (a late scrape
    # may land in between: then read again).
    async with asyncio.timeout(120):
        while True:
            before = await through_grpc(collector, run_id)
            graphql = await through_graphql(dev, run_id)
            compact = await through_series_table(dev, run_id)
            if before == await through_grpc(collector, run_id):
                break
    assert graphql == before
    assert compact == before
    # KWOK's emulated series were scraped for every step, in time order.
    for step in {node for node, _ in graphql}:
        samples = graphql[(step, "cpuUsageSecondsTotal")]
        assert samples, step
        times = [t for t, _ in samples]
        assert times == sorted(set(times)), step
    assert sum(len(s) for s in graphql.values()) > STEPS
