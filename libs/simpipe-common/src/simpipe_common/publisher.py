"""Publishes the events that follow a command (the workflow-submitter's,
the storage-broker's). An outage of NATS never fails a command that already
took effect (in Argo, in S3): the failure is logged and counted. Publishing
happens beside the command, not inside it: JetStream acks after an fsync,
which the command's caller should not wait for."""

import asyncio

import structlog
from google.protobuf.message import Message
from prometheus_client import Counter

from simpipe_common import events

log = structlog.get_logger(__name__)
FAILED = Counter("simpipe_events_publish_failures_total", "Events that could not be published")


class Publisher:
    def __init__(self, jetstream: events.LazyJetStream) -> None:
        self.jetstream = jetstream
        self._pending: set[asyncio.Task[None]] = set()

    def publish_soon(self, subject: str, payload: Message) -> None:
        task = asyncio.create_task(self.publish(subject, payload))
        # Keep a reference until done (the loop holds tasks weakly).
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        await asyncio.gather(*self._pending)

    async def publish(self, subject: str, payload: Message) -> None:
        event_id = payload.meta.event_id  # type: ignore[attr-defined]
        try:
            await events.publish(await self.jetstream.get(), subject, payload, event_id)
        except Exception as error:  # any failure to publish is logged, counted, survived
            FAILED.inc()
            log.error("event not published", subject=subject, event_id=event_id, error=str(error))
