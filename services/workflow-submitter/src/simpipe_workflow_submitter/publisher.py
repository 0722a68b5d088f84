"""Publishes the submitter's events; an outage of NATS never fails a command
that already took effect in Argo (the watcher's phase events follow anyway)."""

import structlog
from google.protobuf.message import Message
from prometheus_client import Counter

from simpipe_common import events

log = structlog.get_logger(__name__)
FAILED = Counter("simpipe_events_publish_failures_total", "Events that could not be published")


class Publisher:
    def __init__(self, jetstream: events.LazyJetStream) -> None:
        self.jetstream = jetstream

    async def publish(self, subject: str, payload: Message) -> None:
        event_id = payload.meta.event_id  # type: ignore[attr-defined]
        try:
            await events.publish(await self.jetstream.get(), subject, payload, event_id)
        except Exception as error:  # any failure to publish is logged, counted, survived
            FAILED.inc()
            log.error("event not published", subject=subject, event_id=event_id, error=str(error))
