"""Run reports on the real stack when no collector was there to see the run
finish: a report consumer made after the run ended (as on a new cluster, or
the first start of the collector) still reports it, from the real JetStream
stream, argo-watcher and Prometheus. Only the store is in memory, so the
shared S3 bucket is left alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import datetime
from typing import Any

import nats
import pytest

from simpipe_common.events import STREAM, LazyJetStream
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.graphql_client import GraphQLClient
from simpipe_devstack.stack import Stack
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.energy import EnergyModel
from simpipe_metrics_collector.prometheus import Prometheus
from simpipe_metrics_collector.report_consumer import RunReports
from simpipe_metrics_collector.report_store import ReportKeys, ReportStore, StoredReport
from simpipe_metrics_collector.watcher import Watcher

DEV = "local-dev"
STEPS = (SimulatedStep("only", seconds=3, cpu_millicores=500, memory_mib=32),)
RUN = """query($id: String!) { dryRun(dryRunId: $id) {
  status { phase } nodes { ... on DryRunNodePod { displayName } } } }"""


class MemoryStore(ReportStore):
    def __init__(self, awaited_run: str) -> None:
        self.bucket, self.url_seconds = "in-memory", 60
        self.objects: dict[str, bytes] = {}
        self.awaited_run = awaited_run
        self.awaited_written = asyncio.Event()

    async def exists(self, keys: ReportKeys) -> bool:
        return keys.json in self.objects

    async def put(self, keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        self.objects[keys.parquet], self.objects[keys.json] = parquet, document
        if f"/{self.awaited_run}/" in keys.json:
            self.awaited_written.set()

    async def latest(self, owner: str, dry_run_id: str) -> StoredReport | None:
        raise AssertionError("not read here")

    async def read(self, key: str) -> dict[str, Any]:
        raise AssertionError("not read here")

    async def url(self, key: str) -> str:
        raise AssertionError("not read here")


async def finished_run(gql: GraphQLClient, run_id: str) -> None:
    document = simulated_pipeline(STEPS, argo_service("http://unused")).to_dict()
    await gql.execute(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"dryRunId": run_id, "argoWorkflow": document},
    )
    async with asyncio.timeout(120):
        await gql.finished_dry_run(RUN, run_id, interval=1)


@pytest.mark.timeout(240)
async def test_a_run_that_finished_before_the_consumer_existed_is_reported(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    run_id = f"metrics-late-{uuid.uuid4().hex[:8]}"
    durable = f"it-late-reports-{uuid.uuid4().hex[:8]}"
    started = time.time()
    gql = GraphQLClient(endpoints["graphql"], stack.secrets.api_tokens[DEV])
    watcher = Watcher(endpoints["argo-watcher_grpc"], 30)
    prometheus = Prometheus(endpoints["prometheus"], 30, 4)
    jetstream = LazyJetStream(endpoints["nats"])
    store = MemoryStore(run_id)
    consumer: asyncio.Task[None] | None = None
    try:
        await finished_run(gql, run_id)
        # Only now does this consumer exist: with DeliverPolicy.NEW it would
        # never see the run's terminal event.
        collector = MetricsCollector(watcher, prometheus, "simpipe", 1.0, EnergyModel(10, 0.4, 300))
        reports = RunReports(
            collector, store, jetstream, durable, settle_seconds=3.0,
            energy=EnergyModel(10, 0.4, 300),
            # Back to just before this run: other runs of the shared stack
            # that finished earlier are not gathered by this test.
            backfill_seconds=time.time() - started + 5,
        )  # fmt: skip
        consumer = asyncio.create_task(reports.run())
        async with asyncio.timeout(120):
            await store.awaited_written.wait()
    finally:
        if consumer is not None:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        await jetstream.close()
        await watcher.close()
        await prometheus.close()
        with contextlib.suppress(Exception):
            await gql.execute("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id)
        await gql.close()
        connection = await nats.connect(endpoints["nats"])
        try:
            with contextlib.suppress(Exception):
                await connection.jetstream().delete_consumer(STREAM, durable)
        finally:
            await connection.close()

    [json_key] = [k for k in store.objects if f"/{run_id}/" in k and k.endswith(".json")]
    document = json.loads(store.objects[json_key])
    assert document["dryRunId"] == run_id
    assert [s["displayName"] for s in document["steps"]] == ["only"]
    cpu = document["steps"][0]["series"]["cpuUsageSecondsTotal"]
    assert max(float(v) for _, v in cpu) == pytest.approx(0.5 * 3, rel=0.05)
    assert datetime.fromisoformat(document["createdAt"]).timestamp() > started
