"""Run reports on the real stack when no collector was there to see the run
finish: a report consumer made after the run ended (as on a new cluster, or
the first start of the collector) still reports it, from the real JetStream
stream, argo-watcher and Prometheus. The consumer is the declared one under
a name of the test's own, made as provisioning makes it; its reports go to
a bucket of the test's own, so the shared one is left alone."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

import nats
import pytest
from pydantic import SecretStr

from simpipe_client import AsyncSimpipe
from simpipe_common.energy import EnergyModel
from simpipe_common.event_broker import EventBroker
from simpipe_common.memory import DeferredTrim
from simpipe_common.nats_auth import connect_options
from simpipe_common.s3 import s3_client
from simpipe_common.settings import S3Settings, ServiceSettings
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_events import stream
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.prometheus import Prometheus
from simpipe_metrics_collector.report_consumer import RunReports, subscribe
from simpipe_metrics_collector.report_store import ReportKeys, ReportStore
from simpipe_metrics_collector.watcher import Watcher

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

DEV = "local-dev"
STEPS = (SimulatedStep("only", seconds=3, cpu_millicores=500, memory_mib=32),)
RUN = """query($id: String!) { dryRun(dryRunId: $id) {
  status { phase } nodes { ... on DryRunNodePod { displayName } } } }"""


class AwaitedStore(ReportStore):
    """The collector's real store, on a bucket of this test's own (the
    running collector reports the same run into the stack's bucket), telling
    when the awaited run's report is in."""

    def __init__(self, s3: S3Client, bucket: str, awaited_run: str) -> None:
        super().__init__(s3, s3, bucket, url_seconds=60)
        self.awaited_run = awaited_run
        self.awaited_keys: ReportKeys | None = None
        self.awaited_written = asyncio.Event()

    async def put(self, keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        await super().put(keys, document, parquet)
        if f"/{self.awaited_run}/" in keys.json:
            self.awaited_keys = keys
            self.awaited_written.set()


@pytest.fixture
async def report_bucket(
    stack: Stack, endpoints: dict[str, str]
) -> AsyncIterator[tuple[S3Client, str]]:
    """A client of the stack's MinIO and a bucket of the test's own, removed after it."""
    settings = S3Settings(
        s3_endpoint=endpoints["s3"],
        s3_access_key=stack.secrets.s3_access_key,
        s3_secret_key=SecretStr(stack.secrets.s3_secret_key),
    )
    bucket = f"it-late-reports-{uuid.uuid4().hex[:8]}"
    async with s3_client(settings, timeout=30) as s3:
        await s3.create_bucket(Bucket=bucket)
        yield s3, bucket
        listed = await s3.list_objects_v2(Bucket=bucket)
        for item in listed.get("Contents", []):
            await s3.delete_object(Bucket=bucket, Key=item["Key"])
        await s3.delete_bucket(Bucket=bucket)


async def finished_run(gql: AsyncSimpipe, run_id: str) -> None:
    document = simulated_pipeline(STEPS, argo_service("http://unused")).to_dict()
    await gql.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"dryRunId": run_id, "placement": "VIRTUAL_NODES", "argoWorkflow": document},
    )
    await finished_dry_run(gql, RUN, run_id, seconds=120, interval=1)


@pytest.mark.timeout(240)
async def test_a_run_that_finished_before_the_consumer_existed_is_reported(
    stack: Stack,
    endpoints: dict[str, str],
    mesh: ServiceSettings,
    report_bucket: tuple[S3Client, str],
) -> None:
    run_id = f"metrics-late-{uuid.uuid4().hex[:8]}"
    started = time.time()
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[DEV])
    watcher = Watcher(endpoints["argo-watcher_grpc"], 30, mesh)
    prometheus = Prometheus(endpoints["prometheus"], 30, 4)
    connection = await nats.connect(endpoints["nats"], **connect_options(mesh))
    s3, bucket = report_bucket
    store = AwaitedStore(s3, bucket, run_id)
    consumer: stream.DurableConsumer | None = None
    try:
        await finished_run(gql, run_id)
        # Only now is the consumer made: with DeliverPolicy.NEW it would never
        # see the run's terminal event. Back to just before this run: other
        # runs of the shared stack that finished earlier are not gathered.
        consumer = dataclasses.replace(
            stream.REPORTS,
            name=f"it-late-reports-{uuid.uuid4().hex[:8]}",
            backfill_seconds=time.time() - started + 5,
        )
        await connection.jetstream().add_consumer(stream.STREAM, consumer.config())
        # As the tests' NATS user, which may also publish the collector's events.
        events = EventBroker(mesh, consumer.name, consumers=(consumer,))
        collector = MetricsCollector(watcher, prometheus, "simpipe", 1.0, EnergyModel(10, 0.4, 300))
        reports = RunReports(
            collector, store, events.publisher, lambda: events.broker.connection.jetstream(),
            settle_seconds=3.0, trim=DeferredTrim(2.0),
        )  # fmt: skip
        subscribe(events.broker, reports, consumer)
        async with events.running(), asyncio.timeout(120):
            await store.awaited_written.wait()
    finally:
        await watcher.close()
        await prometheus.close()
        with contextlib.suppress(Exception):
            await gql.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id)
        await gql.aclose()
        try:
            if consumer is not None:
                with contextlib.suppress(Exception):
                    await connection.jetstream().delete_consumer(stream.STREAM, consumer.name)
        finally:
            await connection.close()

    keys = store.awaited_keys
    assert keys is not None
    await s3.head_object(Bucket=bucket, Key=keys.parquet)  # written beside it
    document = await store.read(keys.json)
    assert document["dryRunId"] == run_id
    assert [s["displayName"] for s in document["steps"]] == ["only"]
    cpu = document["steps"][0]["series"]["cpuUsageSecondsTotal"]
    assert max(float(v) for _, v in cpu) == pytest.approx(0.5 * 3, rel=0.05)
    assert datetime.fromisoformat(document["createdAt"]).timestamp() > started
