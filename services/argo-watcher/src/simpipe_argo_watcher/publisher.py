"""Publishes the events of dry-run changes to JetStream, and tells which state
of a run it published last (JetStream keeps it: the watcher keeps nothing)."""

import structlog
from nats.js.errors import NotFoundError

from simpipe.v1 import events_pb2
from simpipe_argo_watcher.changes import Event, current_state_events, run_state
from simpipe_argo_watcher.metrics import EVENTS_PUBLISHED
from simpipe_argo_watcher.read_model import Snapshot
from simpipe_common.events import STREAM, LazyJetStream, publish, run_subject

log = structlog.get_logger(__name__)


class Publisher:
    def __init__(self, nats_url: str) -> None:
        # Connects on first use: a NATS outage at start-up delays events, not the service.
        self._jetstream = LazyJetStream(nats_url)

    async def publish(self, events: list[Event]) -> None:
        """In order; raises at the first event JetStream does not acknowledge."""
        js = await self._jetstream.get()
        for event in events:
            await publish(js, event.subject, event.payload, event.event_id)
            EVENTS_PUBLISHED.labels(event.subject.split(".")[1]).inc()

    async def publish_if_unpublished(self, snapshot: Snapshot) -> bool:
        """Publishes the run's current state unless its last run event already
        says it: after a restart or a change of leader, what happened while
        nobody published goes out once. True when it published."""
        dry_run = snapshot.dry_run
        js = await self._jetstream.get()
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
        await self._jetstream.close()
