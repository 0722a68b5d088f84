"""Run and step phase events for GraphQL subscriptions.

Each gateway replica takes every run event once, on two FastStream
subscribers of the contract's all-runs filter: an ordered ephemeral
JetStream consumer of its own (fan-out: every replica sees every event,
and after a reconnect it resumes where it was) and a core-NATS subscription,
which NATS delivers as it receives the publish, before JetStream has stored
and fsynced it (sooner on the local stack). Each event is handed to the
subscriptions it belongs to, found by the owner, project and run tokens of
its subject: a subscription only ever sees its owner's events.

A core copy is trusted only while the connection has been whole since the
stored consumer last caught up; after a disconnect (or a slow-consumer
drop) core may have missed events, so until the consumer has caught up
again events come from it alone and stay in order. A subscription to one
run first replays the run's events from the stream (a short-lived ordered
consumer on the run's filter), holding live events back until the replay
has caught up, then passes on only what is newer: each event once, in
stream order.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

import structlog
from faststream.nats import NatsBroker, NatsMessage
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError
from nats.js.api import DeliverPolicy

from simpipe.v1 import events_pb2
from simpipe_common.event_broker import EVENTS_STREAM, EventBroker
from simpipe_events import contract
from simpipe_events.stream import STREAM

log = structlog.get_logger(__name__)

View = TypeVar("View")

RunPayload = events_pb2.DryRunPhaseChanged | events_pb2.StepPhaseChanged
_RUN = contract.event_type(events_pb2.DryRunPhaseChanged)
_STEP = contract.event_type(events_pb2.StepPhaseChanged)
# Events one subscription may have waiting; a client that reads slower than
# that loses its subscription rather than the gateway its memory.
MAX_QUEUED_EVENTS: Final = 10_000
# Event ids a subscription remembers to drop second copies.
SEEN_IDS_KEPT: Final = 4096
# A run's replay that has not caught up by then ends as caught up (its
# events aged out of the stream while it read them).
REPLAY_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class RunEvent:
    payload: RunPayload
    # The stream sequence of a stored copy; None for a core copy.
    sequence: int | None = None
    # What subscriptions made of it (simpipe_gateway.run_feed.RunEvent.view).
    _views: dict[Callable[["RunEvent"], Any], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    def view(self, make: "Callable[[RunEvent], View]") -> "View":
        """`make(self)`, made once: every subscription an event reaches gets
        the same object instead of converting the event again."""
        if make not in self._views:
            self._views[make] = make(self)
        return cast("View", self._views[make])

    @property
    def event_id(self) -> str:
        return self.payload.meta.event_id

    @property
    def run(self) -> events_pb2.DryRunPhaseChanged | None:
        return self.payload if isinstance(self.payload, events_pb2.DryRunPhaseChanged) else None

    @property
    def step(self) -> events_pb2.StepPhaseChanged | None:
        return self.payload if isinstance(self.payload, events_pb2.StepPhaseChanged) else None

    @property
    def ends_run(self) -> bool:
        run = self.run
        return run is not None and run.phase in contract.TERMINAL_RUN_PHASES


class SubscriberTooSlowError(RuntimeError):
    """A subscription's client read more slowly than its events came."""


@dataclass(eq=False)
class Listener:
    """One subscription: its events each once, in order."""

    # Of the run it follows: events of an earlier run of that name are not its.
    uid: str = ""
    # Live events are held back while the run's stored events are replayed.
    replaying: bool = False
    # Its client read too slowly: the subscription ends.
    overflowed: bool = False
    max_queued: int = MAX_QUEUED_EVENTS
    seen_kept: int = SEEN_IDS_KEPT
    queue: asyncio.Queue[RunEvent] = field(init=False)
    _held: list[RunEvent] = field(default_factory=list)
    _seen: "OrderedDict[str, None]" = field(default_factory=OrderedDict)
    _last_replayed: int = 0

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.max_queued)

    def offer(self, event: RunEvent) -> None:
        """A live event."""
        if self.replaying:
            self._held.append(event)
        else:
            self._pass(event)

    def replayed(self, event: RunEvent) -> None:
        self._last_replayed = max(self._last_replayed, event.sequence or 0)
        self._pass(event)

    def caught_up(self) -> None:
        """The replay is done: what came live meanwhile follows, if newer."""
        self.replaying = False
        held, self._held = self._held, []
        for event in held:
            if event.sequence is None or event.sequence > self._last_replayed:
                self._pass(event)

    def _pass(self, event: RunEvent) -> None:
        if self.uid and event.payload.uid != self.uid:
            return
        if event.event_id in self._seen:
            return  # its other copy (core or stored), or a republish
        # Copies come within moments of each other: the recent ids suffice,
        # and a subscription that lasts for days stays small.
        self._seen[event.event_id] = None
        if len(self._seen) > self.seen_kept:
            self._seen.popitem(last=False)
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


class StoredRunEvents:
    """A run's events as the stream has them, read by a short-lived ordered
    consumer of its own."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def replay(self, subject: str, listener: Listener) -> None:
        """Passes the stored events on `subject` to the listener, then lets
        its held live events follow."""
        broker = self._broker
        info = await broker.connection.jetstream().stream_info(STREAM, subjects_filter=subject)
        if not (info.state.subjects or {}):
            listener.caught_up()
            return
        done = asyncio.Event()

        async def replayed(payload: Message) -> None:
            metadata = _delivery(broker).metadata
            if isinstance(payload, RunPayload):
                listener.replayed(RunEvent(payload, metadata.sequence.stream))
            if metadata.num_pending == 0:
                done.set()

        reader = broker.subscriber(
            subject, stream=EVENTS_STREAM, ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL, persistent=False, no_reply=True,
        )  # fmt: skip
        reader(replayed)
        await reader.start()
        try:
            await asyncio.wait_for(done.wait(), REPLAY_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("replay did not catch up; going live", subject=subject)
        finally:
            await reader.stop()
        listener.caught_up()


class RunFeed:
    """A replica's run events, handed to its subscriptions."""

    def __init__(
        self,
        events: EventBroker,
        stored: StoredRunEvents | None = None,
        max_queued: int = MAX_QUEUED_EVENTS,
    ) -> None:
        self._events = events
        self._max_queued = max_queued
        self._stored_runs = stored or StoredRunEvents(events.broker)
        self._by_run: dict[tuple[str, str], set[Listener]] = {}
        self._by_project: dict[tuple[str, str], set[Listener]] = {}
        # Core copies are passed on while this equals the broker's count of
        # interruptions: set when the stored consumer has caught up.
        self._trusted_since: int | None = 0
        broker = events.broker
        subject = contract.all_runs_filter()
        # no_reply: FastStream answers a core message that has a reply subject
        # with the handler's result, and a JetStream publish is a request
        # whose reply subject waits for the stream's ack: an empty answer from
        # here would reach the publisher first.
        broker.subscriber(subject, no_reply=True)(self._core)
        broker.subscriber(
            subject, stream=EVENTS_STREAM, ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW, no_reply=True,
        )(self._stored)  # fmt: skip

    async def _core(self, payload: Message) -> None:
        if self._trusted_since != self._events.interruptions:
            self._trusted_since = None  # until the stored consumer has caught up
            return
        self._dispatch(_delivery(self._events.broker).subject, payload, None)

    async def _stored(self, payload: Message) -> None:
        delivery = _delivery(self._events.broker)
        try:
            metadata = delivery.metadata
        except NotJSMessageError:
            return  # not a delivery of the stream's: nothing to order it by
        if metadata.num_pending == 0:
            self._trusted_since = self._events.interruptions
        self._dispatch(delivery.subject, payload, metadata.sequence.stream)

    def _dispatch(self, subject: str, payload: Message, sequence: int | None) -> None:
        if not isinstance(payload, RunPayload):
            return  # the run's other events (submitted, metrics ready)
        kind = _RUN if isinstance(payload, events_pb2.DryRunPhaseChanged) else _STEP
        tokens = kind.parse(subject)
        if tokens is None:
            return
        event = RunEvent(payload, sequence)
        owner = tokens["owner"]
        for listener in (
            *self._by_run.get((owner, tokens["run"]), ()),
            *self._by_project.get((owner, tokens["project"]), ()),
        ):
            listener.offer(event)

    @property
    def events(self) -> EventBroker:
        """The broker it consumes on (the simulation feed consumes there too)."""
        return self._events

    @property
    def subscriptions(self) -> int:
        """Subscriptions this replica feeds now."""
        return sum(map(len, self._by_run.values())) + sum(map(len, self._by_project.values()))

    async def of_dry_run(
        self, owner: str, dry_run_id: str, uid: str
    ) -> AsyncGenerator[RunEvent, None]:
        """The run's phase and step events, from its first, until it ends.
        An end followed by a phase of the run (a retry, a resubmit under the
        same uid) is not its end: the replay, queued whole before the first
        event is yielded, goes on past it. Step events queued after the end
        are passed on before the subscription completes."""
        key = (contract.owner_token(owner), contract.token(dry_run_id))
        listener = Listener(uid=uid, replaying=True, max_queued=self._max_queued)
        self._by_run.setdefault(key, set()).add(listener)
        try:
            await self._stored_runs.replay(contract.run_filter(owner, dry_run_id), listener)
            later: list[RunEvent] = []
            events = _drain(listener)
            while True:
                event = later.pop(0) if later else await anext(events)
                yield event
                if not event.ends_run:
                    continue
                later += _queued_now(listener)
                if not any(queued.run is not None for queued in later):
                    for queued in later:
                        yield queued
                    return
        finally:
            _forget(self._by_run, key, listener)

    async def of_project(self, owner: str, project_id: str) -> AsyncGenerator[RunEvent, None]:
        """Phase changes of the project's runs from now on."""
        key = (contract.owner_token(owner), contract.token(project_id))
        listener = Listener(max_queued=self._max_queued)
        self._by_project.setdefault(key, set()).add(listener)
        try:
            async for event in _drain(listener):
                if event.run is not None:
                    yield event
        finally:
            _forget(self._by_project, key, listener)


def _delivery(broker: NatsBroker) -> Msg:
    """The NATS message the running handler was given. Read from the broker's
    context rather than injected: FastStream resolves an injected message in
    a worker thread, a hop per event on the subscriptions' hot path."""
    message: NatsMessage = broker.context.get_local("message")
    return message.raw_message


async def _drain(listener: Listener) -> AsyncIterator[RunEvent]:
    while True:
        if listener.overflowed:
            raise SubscriberTooSlowError(
                f"more than {listener.max_queued} events waited for this subscription's client"
            )
        yield await listener.queue.get()


def _queued_now(listener: Listener) -> list[RunEvent]:
    """What the listener holds queued at this moment, taken."""
    taken: list[RunEvent] = []
    while not listener.queue.empty():
        taken.append(listener.queue.get_nowait())
    return taken


def _forget(index: dict[Any, set[Listener]], key: Any, listener: Listener) -> None:
    with contextlib.suppress(KeyError):
        index[key].discard(listener)
        if not index[key]:
            del index[key]
