"""The MetricsCollector servicer on an in-process gRPC server, over a stand-in
watcher, Prometheus, S3 store and JetStream (the real ones are exercised by
tests/integration/test_metrics.py)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.api import AckPolicy, DeliverPolicy
from nats.js.errors import NotFoundError as JetStreamNotFoundError

from simpipe.v1 import dry_runs_pb2, events_pb2, metrics_collector_pb2_grpc
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_common import events
from simpipe_common.errors import REASON_KEY, NotFoundError, UnavailableError
from simpipe_common.memory import DeferredTrim
from simpipe_common.testing import UNREACHABLE_URL
from simpipe_metrics_collector.aggregation import aggregated_nodes
from simpipe_metrics_collector.api import MetricsCollectorApi
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.energy import EnergyModel
from simpipe_metrics_collector.prometheus import Prometheus, Samples, Series
from simpipe_metrics_collector.report_consumer import RunReports
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
BACKFILL_SECONDS = 6 * 3600.0


def ts(seconds: float) -> Timestamp:
    found = Timestamp()
    found.FromNanoseconds(int(seconds * 1e9))
    return found


def dry_run(artifacts: dict[str, list[tuple[str, str]]] | None = None) -> dry_runs_pb2.DryRun:
    """The run; `artifacts`: node id -> (bucket, key) of its S3 input artifacts."""
    run = dry_runs_pb2.DryRun(id=RUN, uid=UID, owner=ALICE, project_id="p")
    run.status.phase = dry_runs_pb2.DRY_RUN_PHASE_SUCCEEDED
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
        super().__init__(UNREACHABLE_URL, 1)
        self.artifacts = artifacts
        self.asked: list[str] = []

    async def dry_run(self, caller: str, dry_run_id: str) -> dry_runs_pb2.DryRun:
        self.asked.append(dry_run_id)
        if caller != ALICE or dry_run_id != RUN:
            raise NotFoundError(f"dry run {dry_run_id} not found")
        return dry_run(self.artifacts)


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


class FakeJetStream(events.LazyJetStream):
    def __init__(self) -> None:
        super().__init__(UNREACHABLE_URL)
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def get(self) -> Any:
        return self

    async def publish(
        self, subject: str, payload: bytes, stream: str, headers: dict[str, str]
    ) -> Any:
        self.published.append((subject, payload, headers))
        return type("Ack", (), {"seq": len(self.published)})()

    async def get_last_msg(self, stream: str, subject: str) -> Any:
        for published, payload, _ in reversed(self.published):
            if published == subject:
                return type("Stored", (), {"data": payload})()
        raise JetStreamNotFoundError


class FakeMessage:
    """A JetStream message as the report consumer handles it."""

    def __init__(self, event: events_pb2.DryRunPhaseChanged) -> None:
        self.data = event.SerializeToString()
        self.outcome = ""

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nak(self, delay: float | None = None) -> None:
        self.outcome = "nak"


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
        self.jetstream = FakeJetStream()
        sizes = ArtifactSizes(None)  # type: ignore[arg-type]
        self.trim = CountedTrim()
        self.api = MetricsCollectorApi(self.collector, self.store, sizes, self.trim)
        self.reports = RunReports(
            self.collector, self.store, self.jetstream, "d", 0.0, BACKFILL_SECONDS,
            self.trim,
        )  # fmt: skip


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
    event = events_pb2.DryRunPhaseChanged(
        meta=events.event_meta(f"{UID}:123", "argo-watcher"),
        dry_run_id=RUN, project_id="p", owner=ALICE, phase="Succeeded",
    )  # fmt: skip
    assert await h.reports.report(event)
    written = dict(h.store.objects)
    assert not await h.reports.report(event)  # idempotent by uid
    assert h.store.objects == written  # not written again
    # Nor announced again: the stream has the announcement.
    [(subject, payload, headers)] = h.jetstream.published
    ready = events_pb2.MetricsReady.FromString(payload)
    assert subject == f"simpipe.metrics.{RUN}.ready"
    assert headers["Nats-Msg-Id"] == ready.meta.event_id == f"metrics:{UID}"
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
    event = events_pb2.DryRunPhaseChanged(
        meta=events.event_meta("an-older-uid:7", "argo-watcher"),
        dry_run_id=RUN, owner=ALICE, phase="Failed",
    )  # fmt: skip
    assert not await h.reports.report(event)
    assert h.store.objects == {}


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


def test_a_new_report_consumer_starts_a_bounded_time_back_in_the_stream() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    config = Harness().reports.consumer_config(now)
    # Not DeliverPolicy.NEW: runs that finished before the first collector
    # ran are in the stream and get their report.
    assert config.deliver_policy == DeliverPolicy.BY_START_TIME
    assert config.opt_start_time == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
    assert config.ack_policy == AckPolicy.EXPLICIT


async def test_a_run_that_finished_long_before_is_reported_from_its_event() -> None:
    h = Harness()
    event = events_pb2.DryRunPhaseChanged(
        meta=events.event_meta(f"{UID}:9", "argo-watcher"),
        dry_run_id=RUN, project_id="p", owner=ALICE, phase="Failed",
    )  # fmt: skip
    event.meta.occurred_at.FromDatetime(datetime.now(UTC) - timedelta(hours=5))
    message = FakeMessage(event)
    await h.reports.handle(message)  # type: ignore[arg-type]
    assert message.outcome == "ack"
    assert h.trim.requests == 1
    [(_, payload, _)] = h.jetstream.published
    ready = events_pb2.MetricsReady.FromString(payload)
    assert (ready.uid, ready.phase) == (UID, "Failed")
    assert ready.json_key in h.store.objects
    written = dict(h.store.objects)
    # Delivered again (a replica died before acknowledging): no new report,
    # no second announcement.
    again = FakeMessage(event)
    await h.reports.handle(again)  # type: ignore[arg-type]
    assert again.outcome == "ack"
    assert h.store.objects == written
    assert len(h.jetstream.published) == 1


async def test_an_announcement_that_failed_after_the_report_was_written_is_sent_again() -> None:
    h = Harness()
    publish = h.jetstream.publish
    calls = 0

    async def lost_once(subject: str, payload: bytes, stream: str, headers: dict[str, str]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TimeoutError("NATS away")
        return await publish(subject, payload, stream, headers)

    h.jetstream.publish = lost_once  # type: ignore[method-assign]
    event = events_pb2.DryRunPhaseChanged(
        meta=events.event_meta(f"{UID}:9", "argo-watcher"),
        dry_run_id=RUN, project_id="p", owner=ALICE, phase="Succeeded",
    )  # fmt: skip
    first = FakeMessage(event)
    await h.reports.handle(first)  # type: ignore[arg-type]
    assert first.outcome == "nak"  # the report is written, its announcement lost
    assert h.jetstream.published == []
    written = dict(h.store.objects)
    assert written
    again = FakeMessage(event)
    await h.reports.handle(again)  # type: ignore[arg-type]
    assert again.outcome == "ack"
    assert h.store.objects == written  # not written again
    [(subject, payload, headers)] = h.jetstream.published
    ready = events_pb2.MetricsReady.FromString(payload)
    assert subject == f"simpipe.metrics.{RUN}.ready"
    assert headers["Nats-Msg-Id"] == ready.meta.event_id == f"metrics:{UID}"
    assert (ready.dry_run_id, ready.project_id, ready.uid, ready.phase) == (
        RUN, "p", UID, "Succeeded",
    )  # fmt: skip
    keys = report_keys(ALICE, RUN, UID)
    assert (ready.json_key, ready.parquet_key) == (keys.json, keys.parquet)
    assert set(written) == {keys.json, keys.parquet}


@pytest.mark.parametrize(
    "failure",
    # NOT_FOUND from S3 (the reports bucket gone) is not "the run is gone".
    [UnavailableError("S3 away"), NotFoundError("report bucket 'simpipe-reports' not found")],
)
async def test_a_report_that_cannot_be_written_is_delivered_again(failure: Exception) -> None:
    h = Harness()

    async def unavailable(keys: ReportKeys, document: bytes, parquet: bytes) -> None:
        raise failure

    h.store.put = unavailable  # type: ignore[method-assign]
    event = events_pb2.DryRunPhaseChanged(
        meta=events.event_meta(f"{UID}:9", "argo-watcher"),
        dry_run_id=RUN, owner=ALICE, phase="Succeeded",
    )  # fmt: skip
    message = FakeMessage(event)
    await h.reports.handle(message)  # type: ignore[arg-type]
    assert message.outcome == "nak"
    assert h.trim.requests == 1  # what the failed report built is freed too
    assert h.jetstream.published == []
