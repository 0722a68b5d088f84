"""Publishes the events of dry-run changes to JetStream, and tells which state
of a run it published last (JetStream keeps it: the watcher keeps nothing)."""

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from simpipe.v1 import events_pb2
from simpipe_argo_watcher.changes import Event, current_state_events, run_state
from simpipe_argo_watcher.metrics import EVENTS_PUBLISHED
from simpipe_argo_watcher.read_model import Snapshot
from simpipe_common.events import STREAM, ensure_stream, publish, run_subject

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT_SECONDS = 2


class Publisher:
    def __init__(self, nats_url: str) -> None:
        self._url = nats_url
        self._connection: Client | None = None
        self._js: JetStreamContext | None = None

    async def _jetstream(self) -> JetStreamContext:
        """Connects on first use, so a NATS outage at start-up delays events
        rather than the service."""
        if self._js is None:
            connection = await nats.connect(
                self._url,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                max_reconnect_attempts=-1,
            )
            js = connection.jetstream()
            try:
                await ensure_stream(js)
            except Exception:
                await connection.close()
                raise
            self._connection, self._js = connection, js
        return self._js

    async def publish(self, events: list[Event]) -> None:
        """In order; raises at the first event JetStream does not acknowledge."""
        js = await self._jetstream()
        for event in events:
            await publish(js, event.subject, event.payload, event.event_id)
            EVENTS_PUBLISHED.labels(event.subject.split(".")[1]).inc()

    async def publish_if_unpublished(self, snapshot: Snapshot) -> bool:
        """Publishes the run's current state unless its last run event already
        says it: after a restart or a change of leader, what happened while
        nobody published goes out once. True when it published."""
        dry_run = snapshot.dry_run
        js = await self._jetstream()
        try:
            last = await js.get_last_msg(
                STREAM, run_subject(dry_run.project_id, dry_run.id, "phase")
            )
        except NotFoundError:
            pass
        else:
            published = events_pb2.DryRunPhaseChanged.FromString(last.data or b"")
            # The event id starts with the uid: a run of the same name may have been
            # deleted and created again.
            same_run = published.meta.event_id.startswith(f"{dry_run.uid}:")
            state = (published.phase, published.progress, published.message)
            if same_run and state == run_state(dry_run):
                return False
        await self.publish(current_state_events(snapshot))
        return True

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection, self._js = None, None
