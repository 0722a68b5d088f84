"""Simulation events (SimulationProgressed, SimulationEnded) for GraphQL
subscriptions.

Each gateway replica takes every simulation event once, on an ordered
ephemeral JetStream consumer per event type of the contract (every replica
sees every event, and after a reconnect it resumes where it was). Unlike run
events there is no core-NATS copy: the gateway's NATS user may subscribe to
run subjects only (simpipe_events.permissions), while ephemeral consumers
deliver to its own inboxes. Progress comes every few seconds, so the
stream's delay does not matter here.

Each event goes to the subscriptions of its owner and simulation, found by
the owner and simulation tokens of its subject: a subscription only ever
sees its owner's events. A subscription registers before its resolver reads
the simulation's state, so an event between that read and the first live
event is not lost (a repeat of the state it read is harmless).
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Final

from faststream.nats import NatsMessage
from google.protobuf.message import Message
from nats.js.api import DeliverPolicy

from simpipe.v1 import events_pb2
from simpipe_common.event_broker import EVENTS_STREAM, EventBroker
from simpipe_events import contract
from simpipe_gateway.run_feed import MAX_QUEUED_EVENTS, SubscriberTooSlowError

SimulationPayload = events_pb2.SimulationProgressed | events_pb2.SimulationEnded
_KINDS: Final = (
    contract.event_type(events_pb2.SimulationProgressed),
    contract.event_type(events_pb2.SimulationEnded),
)


@dataclass(frozen=True)
class SimulationEvent:
    payload: SimulationPayload

    @property
    def progressed(self) -> events_pb2.SimulationProgressed | None:
        found = self.payload
        return found if isinstance(found, events_pb2.SimulationProgressed) else None

    @property
    def ended(self) -> events_pb2.SimulationEnded | None:
        found = self.payload
        return found if isinstance(found, events_pb2.SimulationEnded) else None


@dataclass(eq=False)
class SimulationListener:
    """One subscription's events, in order; it ends when overflowed."""

    key: tuple[str, str]
    max_queued: int = MAX_QUEUED_EVENTS
    overflowed: bool = False
    queue: asyncio.Queue[SimulationEvent] = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.max_queued)

    def offer(self, event: SimulationEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


class SimulationFeed:
    """A replica's simulation events, handed to its subscriptions."""

    def __init__(self, events: EventBroker, max_queued: int = MAX_QUEUED_EVENTS) -> None:
        self._broker = events.broker
        self._max_queued = max_queued
        self._listeners: dict[tuple[str, str], set[SimulationListener]] = {}
        for kind in _KINDS:
            # no_reply: see run_feed (a JetStream publish waits on its reply subject).
            self._broker.subscriber(
                kind.filter(), stream=EVENTS_STREAM, ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW, no_reply=True,
            )(self._stored)  # fmt: skip

    async def _stored(self, payload: Message) -> None:
        message: NatsMessage = self._broker.context.get_local("message")
        self.dispatch(message.raw_message.subject, payload)

    def dispatch(self, subject: str, payload: Message) -> None:
        if not isinstance(payload, SimulationPayload):
            return
        for kind in _KINDS:
            tokens = kind.parse(subject)
            if tokens is not None:
                break
        else:
            return
        event = SimulationEvent(payload)
        for listener in tuple(self._listeners.get((tokens["owner"], tokens["simulation"]), ())):
            listener.offer(event)

    @property
    def subscriptions(self) -> int:
        return sum(map(len, self._listeners.values()))

    def listen(self, owner: str, simulation_id: str) -> SimulationListener:
        """Registers at once: events from now on reach the listener."""
        key = (contract.owner_token(owner), contract.token(simulation_id))
        listener = SimulationListener(key, self._max_queued)
        self._listeners.setdefault(key, set()).add(listener)
        return listener

    def forget(self, listener: SimulationListener) -> None:
        with contextlib.suppress(KeyError):
            self._listeners[listener.key].discard(listener)
            if not self._listeners[listener.key]:
                del self._listeners[listener.key]

    async def events(self, listener: SimulationListener) -> AsyncGenerator[SimulationEvent, None]:
        """The listener's events until the simulation ends; forgets it after."""
        try:
            while True:
                if listener.overflowed:
                    raise SubscriberTooSlowError(
                        f"more than {listener.max_queued} events waited for this"
                        " subscription's client"
                    )
                event = await listener.queue.get()
                yield event
                if event.ended is not None:
                    return
        finally:
            self.forget(listener)
