"""The MetricsCollector servicer on an in-process gRPC server, and the report
consumer on FastStream's test broker, over a stand-in watcher, Prometheus, S3
store and event stream (the real ones are exercised by
tests/integration/test_metrics.py)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from faststream import NoCast
from faststream.message import StreamMessage
from faststream.nats import NatsMessage, TestNatsBroker
from faststream.nats.testing import PatchedMessage
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import REGISTRY

from simpipe.v1 import dry_runs_pb2, events_pb2, metrics_collector_pb2_grpc
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_common.energy import EnergyModel
from simpipe_common.errors import REASON_KEY, NotFoundError, UnavailableError
from simpipe_common.event_broker import EVENTS_STREAM, EventBroker
from simpipe_common.memory import DeferredTrim
from simpipe_common.settings import ServiceSettings
from simpipe_common.testing import UNREACHABLE_URL, RecordedStream
from simpipe_events import contract, stream
from simpipe_events.dead_letters import (
    ORIGINAL_SUBJECT_HEADER,
    REASON_HEADER,
    dead_letter_subject,
)
from simpipe_metrics_collector.aggregation import aggregated_nodes
from simpipe_metrics_collector.api import MetricsCollectorApi
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.metrics import ALERT_AFTER_DELIVERIES
from simpipe_metrics_collector.prometheus import Prometheus, Samples, Series
from simpipe_metrics_collector.report_consumer import RunReports, subscribe
from simpipe_metrics_collector.report_store import (
    ReportKeys,
    ReportStore,
    StoredReport,
    report_keys,
)
from simpipe_metrics_collector.scaling import Aggregate
from simpipe_metrics_collector.watcher import Watcher

ALICE = "alice"
RUN, UID = "run-a", "uid-1"
T0 = 1_800_000_000.0
# node id, display name, pod, start offset, seconds, cores, memory bytes
STEPS = [
    ("run-a-1", "prepare", "run-a-prepare-1", 0, 4, 0.5, 64.0 * 2**20),
    ("run-a-2", "crunch", "run-a-crunch-2", 5, 6, 1.5, 256.0 * 2**20),
]
MODEL = EnergyModel(10.0, 0.5, 300.0)


def ts(seconds: float) -> Timestamp:
    found = Timestamp()
    found.FromNanoseconds(int(seconds * 1e9))
    return found


def dry_run(artifacts: dict[str, list[tuple[str, str]]] | None = None) -> dry_runs_pb2.DryRun:
    """The run; `artifacts`: node id -> (bucket, key) of its S3 input artifacts."""
    run = dry_runs_pb2.DryRun(id=RUN, uid=UID, owner=ALICE, project_id="p")
    run.status.phase = events_pb2.DRY_RUN_PHASE_SUCCEEDED
    run.status.started_at.CopyFrom(ts(T0))
    run.status.finished_at.CopyFrom(ts(T0 + 12))
    run.nodes.add(id=RUN, type="Steps", name=RUN)
    for node_id, name, pod, offset, seconds, _, _ in STEPS:
        node = run.nodes.add(id=node_id, type="Pod", display_name=name, pod_name=pod)
        node.started_at.CopyFrom(ts(T0 + offset))
        node.finished_at.CopyFrom(ts(T0 + offset + seconds))
        for bucket, key in (artifacts or {}).get(node_id, []):
            node.input_artifacts.add(name=key.rpartition("/")[2], bucket=bucket, key=key)
    return run


class FakeWatcher(Watcher):
    def __init__(self, artifacts: dict[str, list[tuple[str, str]]] | None = None) -> None:
        super().__init__(UNREACHABLE_URL, 1, ServiceSettings(mesh_insecure=True))
        self.artifacts = artifacts
        self.asked: list[str] = []
        # Where the watcher says the run's pods are ("": it does not say).
        self.namespace = ""

    async def dry_run(self, caller: str, dry_run_id: str) -> dry_runs_pb2.DryRun:
        self.asked.append(dry_run_id)
        if caller != ALICE or dry_run_id != RUN:
            raise NotFoundError(f"dry run {dry_run_id} not found")
        found = dry_run(self.artifacts)
        found.namespace = self.namespace
        return found


class FakeS3:
    """head_object of an S3 client over (bucket, key) -> size; others are 404."""

    def __init__(self, sizes: dict[tuple[str, str], int]) -> None:
        self.sizes = sizes
        self.heads: list[tuple[str, str]] = []

    async def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self.heads.append((Bucket, Key))
        if (Bucket, Key) not in self.sizes:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {"ContentLength": self.sizes[(Bucket, Key)]}


class FakePrometheus(Prometheus):
    """KWOK's emulation: counters grow at the step's rate and freeze at its
    end; the working set is held while it runs."""

    def __init__(self) -> None:
        super().__init__(UNREACHABLE_URL, 1, 1)
        self.queries: list[str] = []

    async def query_range(self, query: str, start: float, end: float, step: float) -> list[Series]:
        self.queries.append(query)
        pods = re.search(r'pod=~"([^"]*)"', query)
        assert pods is not None
        wanted = pods.group(1).split("|")
        metrics = [""] if query.startswith("rate(") else re.findall(r"container_[a-z_]+", query)
        found = []
        for _, _, pod, offset, seconds, cores, memory in STEPS:
            if pod not in wanted:
                continue
            for metric in metrics:
                samples = []
                t = start
                while t <= end:
                    elapsed, running = min(t - T0 - offset, seconds), t - T0 - offset < seconds
                    value = {
                        "": cores if running else 0.0,
                        "container_cpu_usage_seconds_total": cores * elapsed,
                        "container_memory_working_set_bytes": memory if running else 0.0,
                    }.get(metric)
                    if t >= T0 + offset and value is not None:
                        samples.append((t, repr(value)))
                    t += step
                labels = {"pod": pod, "container": "main", "namespace": "simpipe"}
                if metric:
                    labels["__name__"] = metric
                if samples:
                    times, values = zip(*samples, strict=True)
                    found.append(Series(labels, Samples(times, values)))
        return found


class MemoryStore(ReportStore):
    def __init__(self) -> None:
        self.bucket, self.url_seconds = "simpipe-reports", 60
        self.objects: dict[str, bytes] = {}

    async def exists(self, keys: ReportKeys) -> bool:
        return keys.json in self.objects

    async def put(self, keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        self.objects[keys.parquet], self.objects[keys.json] = parquet, document

    async def latest(self, owner: str, dry_run_id: str) -> StoredReport | None:
        keys = report_keys(owner, dry_run_id, UID)
        return StoredReport(keys, datetime.now(UTC)) if keys.json in self.objects else None

    async def read(self, key: str) -> dict[str, Any]:
        import json

        found: dict[str, Any] = json.loads(self.objects[key])
        return found

    async def url(self, key: str) -> str:
        return f"https://s3.example/{key}?signed"


class CountedTrim(DeferredTrim):
    """Counts the trims asked for; trims nothing."""

    def __init__(self) -> None:
        super().__init__(3600.0)
        self.requests = 0

    def request(self) -> None:
        self.requests += 1


class Harness:
    def __init__(self) -> None:
        self.prometheus = FakePrometheus()
        self.collector = MetricsCollector(FakeWatcher(), self.prometheus, "simpipe", 1.0, MODEL)
        self.store = MemoryStore()
        self.stream = RecordedStream()
        sizes = ArtifactSizes(None)  # type: ignore[arg-type]
        self.trim = CountedTrim()
        self.api = MetricsCollectorApi(self.collector, self.store, sizes, self.trim)
        self.reports = RunReports(
            self.collector, self.store, self.stream, lambda: self.stream, 0.0, self.trim
        )


def run_phase(
    phase: int, uid: str = UID, resource_version: str = "9"
) -> events_pb2.DryRunPhaseChanged:
    return events_pb2.DryRunPhaseChanged(
        meta=contract.meta(f"{uid}:{resource_version}", "argo-watcher"),
        dry_run_id=RUN, project_id="p", owner=ALICE, uid=uid,
        phase=events_pb2.DryRunPhase.ValueType(phase), resource_version=resource_version,
    )  # fmt: skip


READY_SUBJECT = contract.event_type(events_pb2.MetricsReady).subject(
    owner=ALICE, project="p", run=RUN
)


Stub = "metrics_collector_pb2_grpc.MetricsCollectorAsyncStub"


@pytest.fixture
async def harness() -> AsyncIterator[tuple[Harness, Any]]:
    harness = Harness()
    server = grpc.aio.server()
    metrics_collector_pb2_grpc.add_MetricsCollectorServicer_to_server(harness.api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield harness, metrics_collector_pb2_grpc.MetricsCollectorStub(channel)
    await server.stop(None)


async def error_of(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_one_query_per_metric_for_all_steps(harness: tuple[Harness, Any]) -> None:
    h, stub = harness
    found = await stub.GetStepSeries(
        pb.GetStepSeriesRequest(
            caller=ALICE, dry_run_id=RUN, metrics=["cpuUsageSecondsTotal", "memoryRss"]
        )
    )
    # One query for both steps and both metrics.
    [query] = h.prometheus.queries
    assert 'pod=~"run-a-prepare-1|run-a-crunch-2"' in query
    assert "container_cpu_usage_seconds_total|container_memory_rss" in query
    by_key = {
        (s.node_id, s.metric): list(zip(s.timestamps, s.values, strict=True)) for s in found.series
    }
    assert sorted(by_key) == [
        ("run-a-1", "cpuUsageSecondsTotal"), ("run-a-1", "memoryRss"),
        ("run-a-2", "cpuUsageSecondsTotal"), ("run-a-2", "memoryRss"),
    ]  # fmt: skip
    assert by_key[("run-a-1", "memoryRss")] == []
    crunch = by_key[("run-a-2", "cpuUsageSecondsTotal")]
    # Each step keeps its own window: its life padded by 10 s.
    assert crunch[0][0] == T0 + 5
    assert crunch[-1][0] <= T0 + 11 + 10
    assert float(crunch[-1][1]) == pytest.approx(9.0)
    assert h.trim.requests == 1  # the freed answer goes back to the OS after it


async def test_a_run_is_measured_in_its_own_namespace(harness: tuple[Harness, Any]) -> None:
    h, stub = harness
    request = pb.GetStepSeriesRequest(caller=ALICE, dry_run_id=RUN, metrics=["memoryRss"])
    await stub.GetStepSeries(request)
    assert isinstance(h.collector.watcher, FakeWatcher)
    h.collector.watcher.namespace = "simpipe-sim"  # a run on virtual nodes
    await stub.GetStepSeries(request)
    await stub.GetRunSummary(pb.DryRunMetricsRef(caller=ALICE, dry_run_id=RUN))
    first, *on_virtual = h.prometheus.queries
    assert 'namespace="simpipe"' in first
    assert on_virtual
    assert all('namespace="simpipe-sim"' in query for query in on_virtual)


async def test_explicit_range_and_step(harness: tuple[Harness, Any]) -> None:
    _, stub = harness
    request = pb.GetStepSeriesRequest(
        caller=ALICE, dry_run_id=RUN, node_ids=["run-a-2"], metrics=["memoryWorkingSetBytes"],
        start=ts(T0 + 6), end=ts(T0 + 10), step_seconds=2,
    )  # fmt: skip
    found = await stub.GetStepSeries(request)
    assert [t - T0 for t in found.series[0].timestamps] == [6, 8, 10]


@pytest.mark.parametrize(
    "request_fields",
    [
        {"dry_run_id": 'x"} or vector(1)'},
        {"dry_run_id": RUN, "node_ids": ['run-a-1"}']},
        {"dry_run_id": RUN, "node_ids": ["run-a-1|.*"]},
        {"dry_run_id": RUN, "metrics": ["container_cpu_usage_seconds_total"]},
        {"dry_run_id": RUN, "step_seconds": -1},
        {"dry_run_id": RUN, "start": ts(T0 + 5), "end": ts(T0)},
        {"dry_run_id": RUN, "start": ts(T0), "end": ts(T0 + 86400), "step_seconds": 1},
    ],
)
async def test_bad_input_is_invalid_argument(
    harness: tuple[Harness, Any], request_fields: dict[str, Any]
) -> None:
    h, stub = harness
    error = await error_of(
        stub.GetStepSeries(pb.GetStepSeriesRequest(caller=ALICE, **request_fields))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(error.trailing_metadata() or ())[REASON_KEY] == "input-validation"
    assert h.prometheus.queries == []


async def test_unknown_steps_and_other_callers_runs_are_not_found(
    harness: tuple[Harness, Any],
) -> None:
    _, stub = harness
    unknown = await error_of(
        stub.GetStepSeries(
            pb.GetStepSeriesRequest(caller=ALICE, dry_run_id=RUN, node_ids=["run-a-9"])
        )
    )
    theirs = await error_of(stub.GetRunSummary(pb.DryRunMetricsRef(caller="bob", dry_run_id=RUN)))
    assert unknown.code() == theirs.code() == grpc.StatusCode.NOT_FOUND


async def test_run_summary_by_hand(harness: tuple[Harness, Any]) -> None:
    _, stub = harness
    found = await stub.GetRunSummary(pb.DryRunMetricsRef(caller=ALICE, dry_run_id=RUN))
    steps = {s.display_name: s.summary for s in found.steps}
    assert steps["prepare"].cpu_seconds == pytest.approx(2.0)
    assert steps["crunch"].cpu_seconds == pytest.approx(9.0)
    assert steps["crunch"].max_cpu_cores == pytest.approx(1.5)
    assert steps["crunch"].max_memory_bytes == 256 * 2**20
    assert found.run.cpu_seconds == pytest.approx(11.0)
    assert found.run.duration_seconds == 12
    assert found.run.avg_cpu_cores == pytest.approx(11 / 12)
    assert found.run.energy_kwh == pytest.approx(
        steps["prepare"].energy_kwh + steps["crunch"].energy_kwh
    )
    assert found.energy_model.grid_g_co2_per_kwh == 300


async def test_the_report_is_written_once_and_announced(harness: tuple[Harness, Any]) -> None:
    h, stub = harness
    missing = await error_of(stub.GetRunReport(pb.DryRunMetricsRef(caller=ALICE, dry_run_id=RUN)))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    event = run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED, resource_version="123")
    assert await h.reports.report(event)
    written = dict(h.store.objects)
    assert not await h.reports.report(event)  # idempotent by uid
    assert h.store.objects == written  # not written again
    # Nor announced again: the stream has the announcement.
    [ready] = h.stream.events
    assert isinstance(ready, events_pb2.MetricsReady)
    assert h.stream.subjects == [READY_SUBJECT]
    assert (ready.meta.event_id, ready.meta.source) == (f"metrics:{UID}", "metrics-collector")
    assert (ready.owner, ready.uid, ready.phase) == (
        ALICE, UID, events_pb2.DRY_RUN_PHASE_SUCCEEDED,
    )  # fmt: skip
    table = pq.read_table(io.BytesIO(h.store.objects[ready.parquet_key])).to_pylist()
    assert {r["display_name"] for r in table} == {"prepare", "crunch"}
    assert {r["metric"] for r in table} == {"cpuUsageSecondsTotal", "memoryWorkingSetBytes"}

    report = await stub.GetRunReport(pb.DryRunMetricsRef(caller=ALICE, dry_run_id=RUN))
    assert (report.uid, report.phase) == (UID, "Succeeded")
    assert report.json_url.endswith("report.json?signed")
    assert report.summary.run.cpu_seconds == pytest.approx(11.0)
    theirs = await error_of(stub.GetRunReport(pb.DryRunMetricsRef(caller="bob", dry_run_id=RUN)))
    assert theirs.code() == grpc.StatusCode.NOT_FOUND


async def test_a_report_of_a_reused_name_is_not_written_for_the_new_run(
    harness: tuple[Harness, Any],
) -> None:
    h, _ = harness
    event = run_phase(events_pb2.DRY_RUN_PHASE_FAILED, uid="an-older-uid", resource_version="7")
    assert not await h.reports.report(event)
    assert h.store.objects == {}
    assert h.stream.events == []


async def test_scaling_laws_from_given_metrics(harness: tuple[Harness, Any]) -> None:
    _, stub = harness
    x = [1.0, 2.0, 4.0]
    data = pb.AggregatedNodeMetrics(
        cpu=[2 * v for v in x], mem=[10 + v for v in x], duration=[3 * v for v in x],
        file_size=x, node_id=["a", "b", "c"],
    )  # fmt: skip
    laws = pb.ComputeScalingLawsRequest(
        caller=ALICE, nodes=[pb.NodesAggregatedNodeMetrics(node_name="s", data=data)], data_x=x
    )
    found = await stub.PredictScaling(pb.PredictScalingRequest(laws=laws, data_x_to_predict=10))
    assert found.total.cpu == pytest.approx(20)
    assert found.total.mem == pytest.approx(20)
    assert found.nodes[0].prediction.duration == pytest.approx(30)
    both = pb.ComputeScalingLawsRequest(caller=ALICE, nodes=laws.nodes, dry_run_ids=[RUN], data_x=x)
    error = await error_of(stub.ComputeScalingLaws(both))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_aggregated_metrics_of_dry_runs(harness: tuple[Harness, Any]) -> None:
    _, stub = harness
    found = await stub.GetAggregatedNodesMetrics(
        pb.GetAggregatedNodesMetricsRequest(
            caller=ALICE, dry_run_ids=[RUN, RUN], aggregate_method="max"
        )
    )
    by_name = {n.node_name: n.data for n in found.nodes}
    assert list(by_name["crunch"].cpu) == pytest.approx([1.5, 1.5])
    assert list(by_name["prepare"].mem) == [64 * 2**20] * 2
    assert list(by_name["prepare"].duration) == [4, 4]
    assert list(by_name["prepare"].file_size) == [0, 0]


async def test_input_sizes_are_read_at_the_artifacts_the_watcher_reports() -> None:
    h = Harness()
    artifacts = {
        "run-a-1": [("argo-artifacts", "run-a/in/a.csv"), ("other-bucket", "in/b.csv")],
        "run-a-2": [("argo-artifacts", "run-a/gone.csv")],
    }
    s3 = FakeS3({("argo-artifacts", "run-a/in/a.csv"): 1000, ("other-bucket", "in/b.csv"): 234})
    h.collector.watcher = FakeWatcher(artifacts)
    sizes = ArtifactSizes(s3)  # type: ignore[arg-type]
    nodes = await aggregated_nodes(h.collector, sizes, ALICE, [RUN, RUN], Aggregate.MAX)
    by_name = dict(nodes)
    assert by_name["prepare"].file_size == [1234, 1234]
    assert by_name["crunch"].file_size == [0, 0]  # an artifact that is gone counts 0
    assert by_name["prepare"].node_id == ["run-a-1", "run-a-1"]
    # The run named twice is fetched once; each artifact is sized once.
    assert h.collector.watcher.asked == [RUN]
    assert sorted(s3.heads) == sorted(artifacts["run-a-1"] + artifacts["run-a-2"])


# The report consumer as the service runs it: its handler on the event
# broker's NATS broker, here FastStream's test broker.


@dataclass
class Consumer:
    """What the consumer did with each message it was handed."""

    harness: Harness
    broker: Any  # the test broker of the service's NatsBroker
    # (subject, "ack" | "nak" | "term", nak delay) of each delivery, in order.
    answers: list[tuple[str, str, float | None]] = field(default_factory=list)
    # Bodies parked on the consumer's dead-letter subject, with their headers.
    dead_letters: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    deliveries: int = 0

    async def deliver(self, event: Message | bytes, subject: str, delivery: int = 1) -> None:
        """As JetStream hands a message of the consumer over: its reply
        subject tells the delivery count."""
        self.deliveries += 1
        reply = (
            f"$JS.ACK.{stream.STREAM}.{stream.REPORTS.name}.{delivery}.{self.deliveries}."
            f"{self.deliveries}.{time.time_ns()}.0"
        )
        await self.broker.publish(event, subject, stream=stream.STREAM, reply_to=reply)


class RawBodies:
    """A FastStream codec that leaves bodies as they are (dead letters are not events)."""

    async def decode(self, msg: StreamMessage[Any]) -> bytes:
        return msg.body

    async def encode(self, msg: Any, serializer: Any = None) -> tuple[bytes, str | None]:
        return bytes(msg), None


@pytest.fixture
async def consumer(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Consumer]:
    found = Consumer(Harness(), None)

    def answer(kind: str) -> Any:
        async def record(message: PatchedMessage, delay: float | None = None) -> None:
            if message.reply:  # a delivery of the consumer's, not a dead letter
                found.answers.append((message.subject, kind, delay))

        return record

    for kind in ("ack", "nak", "term"):
        monkeypatch.setattr(PatchedMessage, kind, answer(kind))
    events = EventBroker(ServiceSettings(), "metrics-collector", consumers=(stream.REPORTS,))
    subscribe(events.broker, found.harness.reports)

    @events.broker.subscriber(
        dead_letter_subject("metrics-collector"), stream=EVENTS_STREAM, codec=RawBodies()
    )
    async def parked(body: NoCast[bytes], message: NatsMessage) -> None:
        found.dead_letters.append((body, dict(message.headers)))

    async with TestNatsBroker(events.broker) as broker:
        found.broker = broker
        yield found


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(f"simpipe_metrics_collector_{name}_total") or 0.0


async def test_a_finished_run_is_reported_once_and_announced_once(consumer: Consumer) -> None:
    h = consumer.harness
    event = run_phase(events_pb2.DRY_RUN_PHASE_FAILED)
    # Long over: a run that ended before any collector ran, from the backfill.
    event.meta.occurred_at.FromDatetime(datetime.now(UTC) - timedelta(hours=5))
    subject = contract.subject_of(event)
    await consumer.deliver(event, subject)
    assert consumer.answers == [(subject, "ack", None)]
    keys = report_keys(ALICE, RUN, UID)
    assert set(h.store.objects) == {keys.json, keys.parquet}
    assert h.trim.requests == 1
    [ready] = h.stream.events
    assert isinstance(ready, events_pb2.MetricsReady)
    assert h.stream.subjects == [READY_SUBJECT]
    assert (ready.dry_run_id, ready.project_id, ready.owner, ready.uid, ready.phase) == (
        RUN, "p", ALICE, UID, events_pb2.DRY_RUN_PHASE_FAILED,
    )  # fmt: skip
    assert (ready.bucket, ready.json_key, ready.parquet_key) == (
        "simpipe-reports", keys.json, keys.parquet,
    )  # fmt: skip
    written = dict(h.store.objects)
    # Delivered again (a replica died before acknowledging): no new report,
    # no second announcement.
    await consumer.deliver(event, subject, delivery=2)
    assert consumer.answers[1:] == [(subject, "ack", None)]
    assert h.store.objects == written
    assert h.stream.events == [ready]


async def test_a_phase_that_is_not_terminal_is_acknowledged_without_work(
    consumer: Consumer,
) -> None:
    h = consumer.harness
    for phase in (events_pb2.DRY_RUN_PHASE_PENDING, events_pb2.DRY_RUN_PHASE_RUNNING):
        event = run_phase(phase)
        await consumer.deliver(event, contract.subject_of(event))
    subject = contract.subject_of(run_phase(events_pb2.DRY_RUN_PHASE_RUNNING))
    assert consumer.answers == [(subject, "ack", None)] * 2
    assert (h.collector.watcher.asked, h.prometheus.queries) == ([], [])  # type: ignore[attr-defined]
    assert (h.store.objects, h.stream.events, h.trim.requests) == ({}, [], 0)


@pytest.mark.parametrize(
    "failure",
    # NOT_FOUND from S3 (the reports bucket gone) is not "the run is gone".
    [UnavailableError("S3 away"), NotFoundError("report bucket 'simpipe-reports' not found")],
)
async def test_a_report_that_cannot_be_written_comes_back_after_a_backoff(
    consumer: Consumer, failure: Exception
) -> None:
    h = consumer.harness

    async def unavailable(keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        raise failure

    h.store.put = unavailable  # type: ignore[method-assign]
    event = run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED)
    subject = contract.subject_of(event)
    failures, overdue = counted("report_failures"), counted("report_failures_overdue")
    await consumer.deliver(event, subject)
    backoff = stream.REPORTS.backoff_seconds
    assert consumer.answers == [(subject, "nak", backoff[1])]
    assert (counted("report_failures"), counted("report_failures_overdue")) == (
        failures + 1, overdue,
    )  # fmt: skip
    assert h.trim.requests == 1  # what the failed report built is freed too
    # Still failing after many tries: later, and counted for an alert.
    await consumer.deliver(event, subject, delivery=ALERT_AFTER_DELIVERIES)
    assert consumer.answers[1:] == [
        (subject, "nak", backoff[min(ALERT_AFTER_DELIVERIES, len(backoff) - 1)])
    ]
    assert (counted("report_failures"), counted("report_failures_overdue")) == (
        failures + 2, overdue + 1,
    )  # fmt: skip
    assert (h.store.objects, h.stream.events) == ({}, [])


async def test_an_announcement_that_failed_after_the_report_was_written_is_sent_again(
    consumer: Consumer,
) -> None:
    h = consumer.harness
    h.stream.answers = [TimeoutError("NATS away")]
    event = run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED)
    subject = contract.subject_of(event)
    await consumer.deliver(event, subject)
    # The report is written, its announcement lost: the event comes back.
    assert consumer.answers == [(subject, "nak", stream.REPORTS.backoff_seconds[1])]
    assert h.stream.events == []
    written = dict(h.store.objects)
    keys = report_keys(ALICE, RUN, UID)
    assert set(written) == {keys.json, keys.parquet}
    await consumer.deliver(event, subject, delivery=2)
    assert consumer.answers[1:] == [(subject, "ack", None)]
    assert h.store.objects == written  # not written again
    [ready] = h.stream.events
    assert isinstance(ready, events_pb2.MetricsReady)
    assert h.stream.subjects == [READY_SUBJECT]
    assert (ready.uid, ready.json_key, ready.parquet_key) == (UID, keys.json, keys.parquet)
    # Once announced, a later delivery announces nothing more.
    await consumer.deliver(event, subject, delivery=3)
    assert consumer.answers[2:] == [(subject, "ack", None)]
    assert h.stream.events == [ready]


async def test_a_report_announced_for_an_earlier_run_of_that_name_is_announced_again(
    consumer: Consumer,
) -> None:
    h = consumer.harness
    event = run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED)
    keys = report_keys(ALICE, RUN, UID)
    await h.store.put(keys, b"{}", b"")
    earlier = events_pb2.MetricsReady(
        meta=contract.meta("metrics:an-older-uid", "metrics-collector"),
        dry_run_id=RUN, project_id="p", owner=ALICE, uid="an-older-uid",
    )  # fmt: skip
    h.stream.publish_soon(earlier)
    await consumer.deliver(event, contract.subject_of(event))
    assert consumer.answers == [(contract.subject_of(event), "ack", None)]
    assert [ready.uid for ready in h.stream.events] == ["an-older-uid", UID]  # type: ignore[attr-defined]
    assert h.store.objects == {keys.json: b"{}", keys.parquet: b""}  # not written again


async def test_an_event_that_cannot_be_decoded_is_parked_not_redelivered(
    consumer: Consumer,
) -> None:
    subject = contract.subject_of(run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED))
    await consumer.deliver(b"\xff\xff not protobuf", subject)
    [(body, headers)] = consumer.dead_letters
    assert body == b"\xff\xff not protobuf"
    assert headers[ORIGINAL_SUBJECT_HEADER] == subject
    assert "DryRunPhaseChanged" in headers[REASON_HEADER]
    assert consumer.answers == [(subject, "term", None)]
    h = consumer.harness
    assert (h.store.objects, h.stream.events, h.trim.requests) == ({}, [], 0)
