"""Dry-run events from NATS for GraphQL subscriptions.

Each subscription gets its own ephemeral ordered consumer per subject (every
gateway replica sees every event: fan-out, not work sharing). A dry run's
subscription replays that run's events from the stream before going live,
so a subscriber that joins late still sees every phase change in order.

Live, the same events also come over a core-NATS subscription, which NATS
delivers as it receives the publish, before JetStream has stored (and, with
`sync_interval: always`, fsynced) it: that is 1-1.5 ms sooner than the
consumer on the local stack. Events are taken from whichever copy comes
first, by event id, with one rule for order: core messages are held back
until every consumer has caught up (a message with nothing pending after
it), at the start and again after the connection dropped (core NATS does
not redeliver what was missed; the consumers do).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy

from simpipe.v1 import events_pb2
from simpipe_common import events

TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})


@dataclass(frozen=True)
class RunEvent:
    subject: str
    run: events_pb2.DryRunPhaseChanged | None = None
    step: events_pb2.StepPhaseChanged | None = None

    @property
    def event_id(self) -> str:
        payload = self.run or self.step
        assert payload is not None
        return payload.meta.event_id

    @property
    def ends_run(self) -> bool:
        return self.run is not None and self.run.phase in TERMINAL_PHASES


def decode(msg: Msg) -> RunEvent | None:
    """A run or step phase event; anything else on the subjects is skipped."""
    parts = msg.subject.split(".")
    try:
        if parts[1] == "run" and parts[-1] == "phase":
            return RunEvent(msg.subject, run=events_pb2.DryRunPhaseChanged.FromString(msg.data))
        if parts[1] == "step" and parts[-1] == "phase":
            return RunEvent(msg.subject, step=events_pb2.StepPhaseChanged.FromString(msg.data))
    except Exception:  # a payload that does not parse is not ours to crash on
        return None
    return None


@dataclass(frozen=True)
class _Delivery:
    msg: Msg
    consumer: int | None  # the index of the JetStream consumer; None: core NATS
    generation: int = 0  # of the consumers: they are made anew after an interruption


def _nothing_pending(msg: Msg) -> bool:
    try:
        return msg.metadata.num_pending == 0
    except Exception:  # no JetStream metadata: not a consumer's message
        return False


class _Merge:
    """Which deliveries of one subscription to pass on, and when."""

    def __init__(self, consumers: int, replay: bool) -> None:
        self._consumers = consumers
        # Consumers that start at new messages have nothing to catch up on.
        self._caught_up: set[int] = set() if replay else set(range(consumers))
        self.generation = 0
        self._held: list[Msg] = []
        self._seen: set[str] = set()

    def interrupted(self) -> None:
        """The connection dropped, so core NATS may have missed messages: its
        copies wait until the consumers made anew have caught up. A delivery
        of an older consumer still queued says nothing about that."""
        self.generation += 1
        self._caught_up.clear()

    def take(self, delivery: _Delivery) -> list[RunEvent]:
        """The events to pass on now, in order."""
        if delivery.consumer is None:
            if not self._live:
                self._held.append(delivery.msg)
                return []
            return self._new([delivery.msg])
        taken = self._new([delivery.msg])
        if delivery.generation == self.generation and _nothing_pending(delivery.msg):
            self._caught_up.add(delivery.consumer)
            if self._live:
                held, self._held = self._held, []
                taken += self._new(held)
        return taken

    @property
    def _live(self) -> bool:
        return len(self._caught_up) == self._consumers

    def _new(self, messages: list[Msg]) -> list[RunEvent]:
        taken = []
        for msg in messages:
            # Each event comes twice (core and JetStream), and a republished
            # one (a watcher restart) more often: passed on once. Its id is
            # in a header too, so a copy is dropped before it is decoded.
            if (msg.headers or {}).get(events.MSG_ID_HEADER) in self._seen:
                continue
            event = decode(msg)
            if event is None or event.event_id in self._seen:
                continue
            self._seen.add(event.event_id)
            taken.append(event)
        return taken


class RunEvents:
    def __init__(self, jetstream: events.LazyJetStream) -> None:
        self.jetstream = jetstream

    async def _stream(self, subjects: list[str], replay: bool) -> AsyncIterator[RunEvent]:
        """`replay`: from the first event on the subjects; else from now on."""
        js = await self.jetstream.get()
        connection = await self.jetstream.connection()
        queue: asyncio.Queue[_Delivery] = asyncio.Queue()

        def to_queue(consumer: int | None, generation: int = 0) -> Callable[[Msg], Awaitable[None]]:
            async def put(msg: Msg) -> None:
                queue.put_nowait(_Delivery(msg, consumer, generation))

            return put

        interruptions = self.jetstream.interruptions
        merge = _Merge(len(subjects), replay)
        # The stream sequence each consumer delivered last: where a new one resumes.
        delivered: dict[int, int] = {}

        async def consume(index: int) -> Subscription:
            if index in delivered:
                policy, start = DeliverPolicy.BY_START_SEQUENCE, delivered[index] + 1
            else:
                policy, start = DeliverPolicy.ALL, None
            return await js.subscribe(
                subjects[index], stream=events.STREAM, ordered_consumer=True,
                deliver_policy=policy, config=ConsumerConfig(opt_start_seq=start),
                cb=to_queue(index, merge.generation),
            )  # fmt: skip

        # Core first: nothing published after the consumers start is missed by both.
        core = [await connection.subscribe(s, cb=to_queue(None)) for s in subjects]
        consumers: list[Subscription] = []
        try:
            if not replay:
                # "From now on" is a stream sequence, not DeliverPolicy.NEW: a
                # consumer made anew after an interruption, before it delivered
                # anything, must still start here rather than at its own "now".
                now = (await js.stream_info(events.STREAM)).state.last_seq
                delivered = dict.fromkeys(range(len(subjects)), now)
            consumers = [await consume(index) for index in range(len(subjects))]
            while True:
                delivery = await queue.get()
                if self.jetstream.interruptions != interruptions:
                    # After a server crash an ordered consumer does not always come
                    # back (seen with nats-py 2.11): new ones resume where these were.
                    interruptions = self.jetstream.interruptions
                    merge.interrupted()
                    await _unsubscribe(consumers)
                    consumers = [await consume(index) for index in range(len(subjects))]
                if delivery.consumer is not None:
                    with contextlib.suppress(Exception):
                        delivered[delivery.consumer] = delivery.msg.metadata.sequence.stream
                for event in merge.take(delivery):
                    yield event
        finally:
            await _unsubscribe(core + consumers)

    async def of_dry_run(self, dry_run_id: str) -> AsyncIterator[RunEvent]:
        """The run's phase and step events, from its first, until it ends."""
        run = events.token(dry_run_id)
        root = events.SUBJECT_ROOT
        subjects = [f"{root}.run.*.{run}.phase", f"{root}.step.{run}.*.phase"]
        async for event in self._stream(subjects, replay=True):
            yield event
            if event.ends_run:
                return

    async def of_project(self, project_id: str) -> AsyncIterator[RunEvent]:
        """Phase changes of the project's runs from now on."""
        subject = f"{events.SUBJECT_ROOT}.run.{events.token(project_id)}.*.phase"
        async for event in self._stream([subject], replay=False):
            yield event


async def _unsubscribe(subscriptions: list[Subscription]) -> None:
    for subscription in subscriptions:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
