"""Publishes the events of dry-run changes, and tells which state of a run it
published last (the stream keeps it: the watcher keeps nothing)."""

from collections.abc import Callable, Sequence

import structlog

from simpipe_argo_watcher.changes import (
    PhaseEvent,
    current_state_events,
    published_state,
    run_phase_event,
)
from simpipe_argo_watcher.metrics import EVENTS_PUBLISHED, EVENTS_UNPUBLISHABLE
from simpipe_argo_watcher.read_model import Snapshot
from simpipe_events import contract
from simpipe_events.last_event import LastMessages, last_event
from simpipe_events.publisher import EventPublisher

log = structlog.get_logger(__name__)


class Publisher:
    """`jetstream` gives the stream's API once connected, to read what it holds."""

    def __init__(self, events: EventPublisher, jetstream: Callable[[], LastMessages]) -> None:
        self._events = events
        self._jetstream = jetstream

    async def publish(self, events: Sequence[PhaseEvent]) -> None:
        """In order; raises at the first event the stream does not acknowledge."""
        for event in events:
            try:
                await self._events.publish(event)
            except contract.InvalidSubjectTokenError as error:
                # Retrying could never help, and would hold back every other run's events.
                _unpublishable(event, error)
                continue
            EVENTS_PUBLISHED.labels(contract.event_type(event).name).inc()

    async def publish_if_unpublished(self, snapshot: Snapshot) -> bool:
        """Publishes the run's current state unless its last run event already
        says it: after a restart or a change of leader, what happened while
        nobody published goes out once. True when it published."""
        current = run_phase_event(snapshot)
        try:
            last = await last_event(self._jetstream(), current)
        except contract.InvalidSubjectTokenError as error:
            _unpublishable(current, error)
            return False
        if last is not None and published_state(last) == published_state(current):
            return False
        await self.publish(current_state_events(snapshot))
        return True


def _unpublishable(event: PhaseEvent, error: contract.InvalidSubjectTokenError) -> None:
    """A run whose owner or ids make no subject (a Workflow labelled as ours
    without an owner): its events are left out."""
    EVENTS_UNPUBLISHABLE.inc()
    log.error(
        "event left out: no subject can name it",
        event_type=contract.event_type(event).name,
        event_id=event.meta.event_id,
        error=str(error),
    )
