"""Writes the report of every run that finishes: a FastStream handler on the
durable pull consumer declared as simpipe_events.stream.REPORTS, shared by
all replicas (each event goes to one of them), idempotent by the Workflow's
uid (a report that exists is not written again, so redeliveries and the
run's later events are harmless). A report that exists is announced unless
the stream's last MetricsReady of the run is already this run's: an
announcement that failed after its report was written goes out on the
redelivery, and none goes out twice.

The consumer lives in JetStream, not in the process: while every replica is
down, events wait in it, and the next replica to start resumes where the
last one acknowledged. The deployment makes it (`python -m simpipe_events
provision`) starting its declared backfill back in the stream, so runs that
finished before any collector ran get their report too.

An event is acknowledged once its report is written and announced. A report
that fails is never dropped: the event comes back after the consumer's next
backoff step, and a run whose report keeps failing is counted for an alert.
What cannot be decoded is parked on the consumer's dead-letter subject.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Final

import structlog
from faststream import AckPolicy, Context
from faststream.nats import NatsBroker, NatsMessage, PullSub

from simpipe.v1 import events_pb2
from simpipe_common.errors import NotFoundError
from simpipe_common.event_broker import EVENTS_STREAM, PULL_INBOX_PREFIX
from simpipe_common.memory import DeferredTrim
from simpipe_events import contract, stream
from simpipe_events.last_event import LastMessages, last_event
from simpipe_events.publisher import EventPublisher
from simpipe_metrics_collector import catalog
from simpipe_metrics_collector.collector import MetricsCollector, StepSeries, padded
from simpipe_metrics_collector.messages import run_summary_message
from simpipe_metrics_collector.metrics import (
    ALERT_AFTER_DELIVERIES,
    REPORT_FAILURES,
    REPORT_SECONDS,
    REPORTS_OVERDUE,
    REPORTS_WRITTEN,
)
from simpipe_metrics_collector.report import report_json, report_parquet
from simpipe_metrics_collector.report_store import ReportKeys, ReportStore, report_keys

log = structlog.get_logger(__name__)

SOURCE = "metrics-collector"
# Events a replica fetches at once and handles side by side (their settle
# waits overlap); each report holds one run's series while it is written.
FETCH_BATCH: Final = 4
FETCH_WAIT_SECONDS: Final = 5.0


def retry_delay(deliveries: int, backoff: Sequence[float]) -> float:
    """How long an event whose report failed at its `deliveries`-th delivery
    waits to come back: the consumer's backoff after its first step (the
    first is how long a replica that died holding an event keeps it)."""
    return backoff[min(deliveries, len(backoff) - 1)]


class RunReports:
    """`jetstream` gives the stream's API once connected, to read what it holds."""

    def __init__(
        self,
        collector: MetricsCollector,
        store: ReportStore,
        publisher: EventPublisher,
        jetstream: Callable[[], LastMessages],
        settle_seconds: float,
        trim: DeferredTrim,
    ) -> None:
        self.collector = collector
        self.store = store
        self.publisher = publisher
        self.jetstream = jetstream
        self.settle_seconds = settle_seconds
        self.trim = trim

    async def handle(
        self,
        event: events_pb2.DryRunPhaseChanged,
        message: NatsMessage,
        backoff: Sequence[float],
    ) -> None:
        if event.phase not in contract.TERMINAL_RUN_PHASES:
            await message.ack()
            return
        try:
            await self.report(event)
        except Exception as error:  # S3, Prometheus, the watcher or NATS away: retried
            await self._failed(event, message, backoff, error)
            return
        finally:
            # A report holds a run's series twice over (JSON, MessagePack for
            # the Parquet child), freed once written.
            self.trim.request()
        await message.ack()

    async def _failed(
        self,
        event: events_pb2.DryRunPhaseChanged,
        message: NatsMessage,
        backoff: Sequence[float],
        error: Exception,
    ) -> None:
        deliveries = message.raw_message.metadata.num_delivered
        delay = retry_delay(deliveries, backoff)
        REPORT_FAILURES.inc()
        if deliveries >= ALERT_AFTER_DELIVERIES:
            REPORTS_OVERDUE.inc()
        log.error(
            "report not written or announced",
            dry_run=event.dry_run_id,
            uid=event.uid,
            deliveries=deliveries,
            retry_seconds=delay,
            error=repr(error),
        )
        await message.nack(delay=delay)

    async def report(self, event: events_pb2.DryRunPhaseChanged) -> bool:
        """Writes the run's report unless it exists, and announces it; True
        when written."""
        keys = report_keys(event.owner, event.dry_run_id, event.uid)
        if await self.store.exists(keys):
            # Written before, and announced unless that publish failed (the
            # event was nak'ed): the stream tells, so a redelivery or the
            # backfill does not announce a report twice.
            ready = self._ready(event, keys)
            if not await self._announced(ready):
                await self.publisher.publish(ready)
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
        if dry_run.uid != event.uid:
            return False  # the name was reused: the newer run reports itself
        measures = await self.collector.measure(dry_run)
        steps = [step for step, _ in measures.steps]
        windows = {s.node_id: padded(s) for s in steps}
        found = await self.collector.series(
            self.collector.namespace_of(dry_run), list(catalog.METRICS.values()), steps, windows, 0
        )
        series = [StepSeries(node, metric, samples) for (node, metric), samples in found.items()]
        summary = run_summary_message(measures, self.collector.energy)
        phase = contract.run_phase_name(event.phase)
        await self.store.put(
            keys,
            report_json(dry_run, phase, summary, steps, series, datetime.now(UTC)),
            await report_parquet(steps, series),
        )
        REPORTS_WRITTEN.inc()
        REPORT_SECONDS.observe(time.monotonic() - started)
        log.info("report written", dry_run=dry_run.id, uid=dry_run.uid, key=keys.json)
        # Acknowledged by the stream before the run's event is.
        await self.publisher.publish(self._ready(event, keys))
        return True

    def _ready(
        self, event: events_pb2.DryRunPhaseChanged, keys: ReportKeys
    ) -> events_pb2.MetricsReady:
        """The announcement of the run's report; its id, `metrics:<uid>`, is
        the same every time, so JetStream drops a repeat within its duplicate
        window."""
        return events_pb2.MetricsReady(
            meta=contract.meta(f"metrics:{event.uid}", SOURCE),
            dry_run_id=event.dry_run_id,
            project_id=event.project_id,
            owner=event.owner,
            uid=event.uid,
            phase=event.phase,
            bucket=self.store.bucket,
            json_key=keys.json,
            parquet_key=keys.parquet,
        )

    async def _announced(self, ready: events_pb2.MetricsReady) -> bool:
        """Whether the run's last MetricsReady on the stream is this run's (a
        run of the same name may have come before)."""
        last = await last_event(self.jetstream(), ready)
        return last is not None and last.uid == ready.uid


# The name the report writer has in the broker's context.
REPORTS_CONTEXT: Final = "run_reports"


def subscribe(
    broker: NatsBroker,
    reports: RunReports,
    consumer: stream.DurableConsumer = stream.REPORTS,
    inbox_prefix: bytes = PULL_INBOX_PREFIX,
) -> None:
    """Hands the run phase events of `consumer`, the durable consumer the
    deployment made, to `reports` (injected into the handler from the
    broker's context); before `broker` starts. What it cannot decode is
    parked by the event broker's dead-letter middleware. Fetched batches
    come to inboxes of `inbox_prefix` (EventBroker.pull_inbox_prefix: the
    only ones the service's NATS user may read)."""
    broker.context.set_global(REPORTS_CONTEXT, reports)

    @broker.subscriber(
        consumer.filter_subject,
        durable=consumer.name,
        stream=EVENTS_STREAM,
        pull_sub=PullSub(FETCH_BATCH, FETCH_WAIT_SECONDS),
        inbox_prefix=inbox_prefix,
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
    )
    async def run_phase_changed(
        event: events_pb2.DryRunPhaseChanged,
        message: NatsMessage,
        reports: Annotated[RunReports, Context(REPORTS_CONTEXT)],
    ) -> None:
        await reports.handle(event, message, consumer.backoff_seconds)
