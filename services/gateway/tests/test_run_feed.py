"""The gateway's run feed: which events reach which subscription, each once
and in order, on FastStream's test broker (no NATS)."""

import asyncio
from collections.abc import AsyncIterator
from itertools import count
from typing import Any, cast

import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from google.protobuf.message import Message

from simpipe.v1 import events_pb2
from simpipe_common.event_broker import EventBroker
from simpipe_events import contract
from simpipe_events.stream import STREAM
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_feed import (
    Listener,
    RunEvent,
    RunFeed,
    StoredRunEvents,
    SubscriberTooSlowError,
)

OWNER = "alice@example.org"
UID = "uid-1"
_versions = count(1)


def run_event(
    phase: int, run: str = "r", project: str = "p", owner: str = OWNER, uid: str = UID
) -> events_pb2.DryRunPhaseChanged:
    version = next(_versions)
    return events_pb2.DryRunPhaseChanged(
        meta=contract.meta(f"{uid}:{version}", "test"), dry_run_id=run, project_id=project,
        owner=owner, uid=uid, phase=phase,  # type: ignore[arg-type]
    )  # fmt: skip


def step_event(phase: int, node: str = "r-1") -> events_pb2.StepPhaseChanged:
    return events_pb2.StepPhaseChanged(
        meta=contract.meta(f"{UID}:{node}:{phase}", "test"), dry_run_id="r", project_id="p",
        node_id=node, owner=OWNER, uid=UID, phase=phase,  # type: ignore[arg-type]
    )  # fmt: skip


def js_reply(sequence: int, pending: int) -> str:
    """The reply subject a JetStream delivery carries its metadata in."""
    return f"$JS.ACK.{STREAM}.feed.1.{sequence}.{sequence}.1700000000000000000.{pending}"


RUNNING = events_pb2.DRY_RUN_PHASE_RUNNING
PENDING = events_pb2.DRY_RUN_PHASE_PENDING
SUCCEEDED = events_pb2.DRY_RUN_PHASE_SUCCEEDED
FAILED = events_pb2.DRY_RUN_PHASE_FAILED


class FakeStored(StoredRunEvents):
    """The stream's copy of a run: given events, replayed with sequences 1..n."""

    def __init__(
        self, stored: list[events_pb2.DryRunPhaseChanged | events_pb2.StepPhaseChanged]
    ) -> None:
        self.stored = stored
        self.subjects: list[str] = []
        self.replaying = asyncio.Event()
        self.release = asyncio.Event()

    async def replay(self, subject: str, listener: Listener) -> None:
        self.subjects.append(subject)
        self.replaying.set()
        await self.release.wait()  # live events may come meanwhile
        for sequence, event in enumerate(self.stored, 1):
            listener.replayed(RunEvent(event, sequence))
        listener.caught_up()


def feed(stored: FakeStored | None = None) -> tuple[EventBroker, RunFeed]:
    events = EventBroker(GatewaySettings(), "gateway")
    return events, RunFeed(events, stored or FakeStored([]))


async def publish(
    broker: NatsBroker, event: Message, subject: str, stream: str | None = None, reply_to: str = ""
) -> None:
    # FastStream's annotation names its own codec's bodies; the contract's
    # codec (the broker's) takes protobuf messages.
    await broker.publish(cast("Any", event), subject, stream=stream, reply_to=reply_to)


async def subscribed(run_feed: RunFeed, count: int = 1) -> None:
    """Until `count` subscriptions have registered (on their first step)."""
    async with asyncio.timeout(5):
        # The feed signals nothing on registration: a loop turn at a time.
        while run_feed.subscriptions < count:  # noqa: ASYNC110
            await asyncio.sleep(0)


async def take(events: AsyncIterator[RunEvent], n: int) -> list[RunEvent]:
    return [await asyncio.wait_for(anext(events), 5) for _ in range(n)]


async def test_a_project_subscription_sees_its_owners_run_phases_once_each() -> None:
    events, run_feed = feed()
    async with TestNatsBroker(events.broker) as broker:
        updates = run_feed.of_project(OWNER, "p")
        first = asyncio.ensure_future(take(updates, 2))
        await subscribed(run_feed)
        running = run_event(RUNNING)
        # Not for it: another owner, another project, a step event.
        for other in (
            run_event(RUNNING, owner="mallory"),
            run_event(RUNNING, project="q"),
            step_event(events_pb2.NODE_PHASE_RUNNING),
        ):
            await publish(broker, other, contract.subject_of(other))
        await publish(broker, running, contract.subject_of(running))
        # The stored copy of the same event is passed on once only.
        await publish(
            broker, running, contract.subject_of(running), stream=STREAM, reply_to=js_reply(7, 0)
        )
        done = run_event(SUCCEEDED)
        await publish(broker, done, contract.subject_of(done))
        got = await first
        assert [e.payload for e in got] == [running, done]
        await updates.aclose()


async def test_after_an_interruption_core_copies_wait_until_the_stored_consumer_caught_up() -> None:
    events, run_feed = feed()
    async with TestNatsBroker(events.broker) as broker:
        updates = run_feed.of_project(OWNER, "p")
        got = asyncio.ensure_future(take(updates, 2))
        await subscribed(run_feed)
        events.interruptions += 1  # as a disconnect does
        missed, later = run_event(PENDING), run_event(RUNNING)
        # Core may have lost `missed`: `later` must not overtake it.
        await publish(broker, later, contract.subject_of(later))
        await publish(
            broker, missed, contract.subject_of(missed), stream=STREAM, reply_to=js_reply(1, 1)
        )
        await publish(
            broker, later, contract.subject_of(later), stream=STREAM, reply_to=js_reply(2, 0)
        )
        assert [e.payload for e in await got] == [missed, later]
        # Caught up: core copies are trusted again.
        fast = run_event(SUCCEEDED)
        next_one = asyncio.ensure_future(take(updates, 1))
        await publish(broker, fast, contract.subject_of(fast))
        assert [e.payload for e in await next_one] == [fast]
        await updates.aclose()


async def test_a_run_subscription_replays_then_follows_live_without_repeats() -> None:
    pending, running, succeeded = run_event(PENDING), run_event(RUNNING), run_event(SUCCEEDED)
    stored = FakeStored([pending, running])
    events, run_feed = feed(stored)
    async with TestNatsBroker(events.broker) as broker:
        updates = run_feed.of_dry_run(OWNER, "r", UID)
        got = asyncio.ensure_future(take(updates, 3))
        await stored.replaying.wait()
        # Live while the replay reads: one already stored, one newer.
        await publish(broker, running, contract.subject_of(running))
        await publish(broker, succeeded, contract.subject_of(succeeded))
        stored.release.set()
        assert [e.payload for e in await got] == [pending, running, succeeded]
        # The terminal phase ends the subscription.
        with pytest.raises(StopAsyncIteration):
            await anext(updates)
        assert stored.subjects == [contract.run_filter(OWNER, "r")]


async def test_a_retried_runs_subscription_goes_past_its_old_end_to_the_new_one() -> None:
    first, failed = run_event(RUNNING), run_event(FAILED)
    retried, failed_again = run_event(RUNNING), run_event(FAILED)
    stored = FakeStored([first, failed, retried])
    stored.release.set()
    events, run_feed = feed(stored)
    async with TestNatsBroker(events.broker) as broker:
        updates = run_feed.of_dry_run(OWNER, "r", UID)
        assert [e.payload for e in await take(updates, 3)] == [first, failed, retried]
        # Still open: the retry's end comes live, and ends it.
        await publish(broker, failed_again, contract.subject_of(failed_again))
        assert [e.payload for e in await take(updates, 1)] == [failed_again]
        with pytest.raises(StopAsyncIteration):
            await anext(updates)


async def test_step_events_stored_after_the_end_are_passed_on_then_it_ends() -> None:
    running, succeeded, last_step = run_event(RUNNING), run_event(SUCCEEDED), step_event(3)
    stored = FakeStored([running, succeeded, last_step])
    stored.release.set()
    _, run_feed = feed(stored)
    updates = run_feed.of_dry_run(OWNER, "r", UID)
    assert [e.payload for e in await take(updates, 3)] == [running, succeeded, last_step]
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(updates), 5)


async def test_a_run_subscription_skips_an_earlier_run_of_the_same_name() -> None:
    old = run_event(SUCCEEDED, uid="old-uid")
    new = run_event(RUNNING)
    stored = FakeStored([old, new])
    stored.release.set()
    _, run_feed = feed(stored)
    updates = run_feed.of_dry_run(OWNER, "r", UID)
    assert [e.payload for e in await take(updates, 1)] == [new]
    await updates.aclose()


def test_held_live_events_follow_the_replay_only_when_newer() -> None:
    listener = Listener(replaying=True)
    a, b, c = run_event(PENDING), run_event(RUNNING), run_event(SUCCEEDED)
    listener.offer(RunEvent(b, 2))  # stored copy, also in the replay
    listener.offer(RunEvent(c, None))  # core copy, newer
    listener.offer(RunEvent(c, 3))  # its stored copy
    listener.replayed(RunEvent(a, 1))
    listener.replayed(RunEvent(b, 2))
    assert listener.queue.qsize() == 2
    listener.caught_up()
    queued = [listener.queue.get_nowait().payload for _ in range(listener.queue.qsize())]
    assert queued == [a, b, c]


def test_a_long_replay_is_not_repeated_by_held_stored_copies() -> None:
    """Ids are remembered for a while only; stored copies are told by sequence."""
    listener = Listener(replaying=True, seen_kept=2)
    replay = [run_event(RUNNING) for _ in range(5)]
    listener.offer(RunEvent(replay[0], 1))  # live, while the replay reads
    for sequence, event in enumerate(replay, 1):
        listener.replayed(RunEvent(event, sequence))
    listener.caught_up()
    assert listener.queue.qsize() == 5


async def test_a_subscriber_that_reads_too_slowly_ends_with_an_error() -> None:
    events = EventBroker(GatewaySettings(), "gateway")
    run_feed = RunFeed(events, FakeStored([]), max_queued=2)
    async with TestNatsBroker(events.broker) as broker:
        updates = run_feed.of_project(OWNER, "p")
        first = await asyncio.wait_for(
            asyncio.gather(anext(updates), publish_all(broker, run_feed, [run_event(PENDING)])), 5
        )
        assert first[0].payload.phase == PENDING
        # Three more while nobody reads: one more than the subscription keeps.
        await publish_all(
            broker, run_feed, [run_event(RUNNING), run_event(RUNNING), run_event(SUCCEEDED)]
        )
        with pytest.raises(SubscriberTooSlowError):
            await anext(updates)


async def publish_all(
    broker: NatsBroker, run_feed: RunFeed, events: list[events_pb2.DryRunPhaseChanged]
) -> None:
    await subscribed(run_feed)
    for event in events:
        await publish(broker, event, contract.subject_of(event))
