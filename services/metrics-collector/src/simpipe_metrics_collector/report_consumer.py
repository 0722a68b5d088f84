"""Writes the report of every run that finishes: a durable JetStream pull
consumer on the runs' phase events, shared by all replicas (each event goes
to one of them), idempotent by the Workflow's uid (a report that exists is
not written again, so redeliveries and the run's later events are harmless).
A report that exists is announced again, under the same event id: a
MetricsReady that failed to publish after its report was written goes out
on the redelivery, and JetStream's duplicate window (or the consumers' own
check of event ids) drops the repeats.

The consumer lives in JetStream, not in the process: while every replica is
down, events wait in it, and the next replica to start resumes where the
last one acknowledged. When it is first made (a new stack, a new cluster, a
deleted consumer), it starts `backfill_seconds` back in the stream, so runs
that finished before any collector ran get their report too; bounded, so a
first start does not gather reports for a week of runs.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError as JetStreamNotFoundError

from simpipe.v1 import events_pb2
from simpipe_common import events
from simpipe_common.errors import NotFoundError
from simpipe_common.memory import DeferredTrim
from simpipe_metrics_collector import catalog
from simpipe_metrics_collector.collector import MetricsCollector, StepSeries, padded
from simpipe_metrics_collector.messages import run_summary_message
from simpipe_metrics_collector.metrics import REPORT_FAILURES, REPORT_SECONDS, REPORTS_WRITTEN
from simpipe_metrics_collector.report import report_json, report_parquet
from simpipe_metrics_collector.report_store import ReportKeys, ReportStore, report_keys

log = structlog.get_logger(__name__)

SOURCE = "metrics-collector"
RUN_PHASES = f"{events.SUBJECT_ROOT}.run.*.*.phase"
TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
FETCH_BATCH = 4
FETCH_WAIT_SECONDS = 5.0
RETRY_DELAY_SECONDS = 5.0
RECONNECT_DELAY_SECONDS = 2.0
# Long enough for a large run's report; a replica that dies mid-report
# hands the event to another after this.
ACK_WAIT_SECONDS = 120.0
MAX_DELIVERIES = 10


class RunReports:
    def __init__(
        self,
        collector: MetricsCollector,
        store: ReportStore,
        jetstream: events.LazyJetStream,
        durable: str,
        settle_seconds: float,
        backfill_seconds: float,
        trim: DeferredTrim,
    ) -> None:
        self.collector = collector
        self.store = store
        self.jetstream = jetstream
        self.durable = durable
        self.settle_seconds = settle_seconds
        self.backfill_seconds = backfill_seconds
        self.trim = trim

    def consumer_config(self, now: datetime) -> ConsumerConfig:
        """The consumer made when none exists yet (one that exists keeps its
        own position and configuration)."""
        return ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_SECONDS,
            max_deliver=MAX_DELIVERIES,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=now - timedelta(seconds=self.backfill_seconds),
        )

    async def run(self) -> None:
        """Consumes until cancelled; a NATS outage is waited out."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS away: try again shortly
                log.warning("report consumer interrupted", error=repr(error))
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    async def _consume(self) -> None:
        js = await self.jetstream.get()
        subscription = await js.pull_subscribe(
            RUN_PHASES,
            durable=self.durable,
            stream=events.STREAM,
            config=self.consumer_config(datetime.now(UTC)),
        )
        while True:
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT_SECONDS)
            except TimeoutError:
                continue
            for message in messages:
                await self.handle(message)

    async def handle(self, message: Msg) -> None:
        event = events_pb2.DryRunPhaseChanged.FromString(message.data or b"")
        if event.phase not in TERMINAL_PHASES:
            await message.ack()
            return
        try:
            await self.report(event)
        except Exception as error:  # S3, Prometheus or the watcher away: retried
            REPORT_FAILURES.inc()
            log.error(
                "report not written or announced", dry_run=event.dry_run_id, error=repr(error)
            )
            await message.nak(delay=RETRY_DELAY_SECONDS)
            return
        finally:
            # A report holds a run's series twice over (JSON, MessagePack for
            # the Parquet child), freed once written.
            self.trim.request()
        await message.ack()

    async def report(self, event: events_pb2.DryRunPhaseChanged) -> bool:
        """Writes the run's report unless it exists, and announces it; True
        when written."""
        # Phase event ids are "<uid>:<resourceVersion>".
        uid = event.meta.event_id.partition(":")[0]
        keys = report_keys(event.owner, event.dry_run_id, uid)
        if await self.store.exists(keys):
            # Written before, and announced unless that publish failed (the
            # event was nak'ed): the stream tells, so a redelivery or the
            # backfill does not announce a report twice.
            if not await self._announced(event.dry_run_id, uid):
                await self._announce(event.dry_run_id, event.project_id, uid, event.phase, keys)
            return False
        ended = event.meta.occurred_at.ToDatetime(tzinfo=UTC).timestamp()
        await asyncio.sleep(max(0.0, ended + self.settle_seconds - time.time()))
        started = time.monotonic()
        try:
            dry_run = await self.collector.dry_run(event.owner, event.dry_run_id)
        except NotFoundError:
            # Only here does "not found" mean there is nothing to report; from
            # S3 (the reports bucket gone) it is a failure to retry.
            log.info("run gone before its report", dry_run=event.dry_run_id)
            return False
        if dry_run.uid != uid:
            return False  # the name was reused: the newer run reports itself
        measures = await self.collector.measure(dry_run)
        steps = [step for step, _ in measures.steps]
        windows = {s.node_id: padded(s) for s in steps}
        found = await self.collector.series(list(catalog.METRICS.values()), steps, windows, 0)
        series = [StepSeries(node, metric, samples) for (node, metric), samples in found.items()]
        summary = run_summary_message(measures, self.collector.energy)
        await self.store.put(
            keys,
            report_json(dry_run, event.phase, summary, steps, series, datetime.now(UTC)),
            await report_parquet(steps, series),
        )
        REPORTS_WRITTEN.inc()
        REPORT_SECONDS.observe(time.monotonic() - started)
        log.info("report written", dry_run=dry_run.id, uid=uid, key=keys.json)
        await self._announce(dry_run.id, dry_run.project_id, uid, event.phase, keys)
        return True

    async def _announced(self, dry_run_id: str, uid: str) -> bool:
        """Whether the run's last MetricsReady on the stream is this run's (a
        run of the same name may have come before)."""
        js = await self.jetstream.get()
        try:
            last = await js.get_last_msg(events.STREAM, events.metrics_subject(dry_run_id))
        except JetStreamNotFoundError:
            return False
        return events_pb2.MetricsReady.FromString(last.data or b"").uid == uid

    async def _announce(
        self, dry_run_id: str, project_id: str, uid: str, phase: str, keys: ReportKeys
    ) -> None:
        """Publishes MetricsReady; its id, `metrics:<uid>`, is the same every
        time, so JetStream drops a repeat within its duplicate window."""
        ready = events_pb2.MetricsReady(
            meta=events.event_meta(f"metrics:{uid}", SOURCE),
            dry_run_id=dry_run_id,
            project_id=project_id,
            uid=uid,
            phase=phase,
            bucket=self.store.bucket,
            json_key=keys.json,
            parquet_key=keys.parquet,
        )
        js = await self.jetstream.get()
        await events.publish(js, events.metrics_subject(dry_run_id), ready, ready.meta.event_id)
