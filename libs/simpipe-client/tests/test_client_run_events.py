"""The event subscriber without a server: it refuses what would widen its
filter before it touches NATS, asks JetStream for the contract's filter
with the right start, and passes on each event of the contract once,
typed, skipping what is none."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from simpipe.v1 import events_pb2
from simpipe_client.events import RunEvent, RunEvents, project_run_events, run_events
from simpipe_events import contract
from simpipe_events.stream import STREAM

OWNER = "alice"


class NoNats:
    """A connection that must not be used."""

    def jetstream(self) -> Any:
        raise AssertionError("NATS was asked")


@dataclass
class FakeSubscription:
    deliveries: list[Msg]
    unsubscribed: bool = False

    @property
    def messages(self) -> AsyncIterator[Msg]:
        async def each() -> AsyncIterator[Msg]:
            for msg in self.deliveries:
                yield msg

        return each()

    async def unsubscribe(self) -> None:
        self.unsubscribed = True


@dataclass
class FakeNats:
    """A connection whose JetStream delivers the given messages, and
    remembers what it was asked."""

    deliveries: list[Msg] = field(default_factory=list)
    last_seq: int = 0
    subscribed: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[FakeSubscription] = field(default_factory=list)
    is_closed: bool = False

    def jetstream(self) -> FakeNats:
        return self

    async def stream_info(self, stream: str) -> Any:
        assert stream == STREAM
        return SimpleNamespace(state=SimpleNamespace(last_seq=self.last_seq))

    async def subscribe(self, subject: str, **options: Any) -> FakeSubscription:
        self.subscribed.append({"subject": subject, **options})
        subscription = FakeSubscription(self.deliveries)
        self.subscriptions.append(subscription)
        return subscription

    @property
    def client(self) -> Client:
        return cast(Client, self)


def phase(run: str, project: str = "p1", owner: str = OWNER, number: int = 1) -> Any:
    return events_pb2.DryRunPhaseChanged(
        meta=contract.meta(f"{run}:{number}", "test"),
        owner=owner,
        project_id=project,
        dry_run_id=run,
        phase=events_pb2.DRY_RUN_PHASE_RUNNING,
    )


def step(run: str, project: str = "p1") -> Any:
    return events_pb2.StepPhaseChanged(
        meta=contract.meta(f"{run}:step", "test"),
        owner=OWNER,
        project_id=project,
        dry_run_id=run,
        node_id="node-1",
        display_name="only",
        phase=events_pb2.NODE_PHASE_SUCCEEDED,
    )


def delivery(sequence: int, subject: str, data: bytes) -> Msg:
    reply = f"$JS.ACK.{STREAM}.consumer.1.{sequence}.{sequence}.1700000000000000000.0"
    return Msg(_client=cast(Any, None), subject=subject, reply=reply, data=data)


def of(sequence: int, event: Any) -> Msg:
    return delivery(sequence, contract.subject_of(event), event.SerializeToString())


@pytest.mark.parametrize("project", ["", "*", ">", "a.b", "a b", "p1.>"])
def test_a_project_that_is_no_subject_token_is_refused(project: str) -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        project_run_events(cast(Client, NoNats()), OWNER, project)


def test_an_owner_is_needed() -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        project_run_events(cast(Client, NoNats()), "", "p1")


@pytest.mark.parametrize("run", ["", "*", "r.1"])
def test_a_run_that_is_no_subject_token_is_refused(run: str) -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        run_events(cast(Client, NoNats()), OWNER, run)


def test_the_filters_are_the_contracts() -> None:
    nc = cast(Client, NoNats())
    project = project_run_events(nc, OWNER, "p1")
    assert project.filter_subject == contract.project_runs_filter(OWNER, "p1")
    assert project.filter_subject.startswith(f"simpipe.v1.{contract.owner_token(OWNER)}.run.p1.")
    assert run_events(nc, OWNER, "r1").filter_subject == contract.run_filter(OWNER, "r1")
    assert run_events(nc, OWNER, "r1", project_id="p1").filter_subject == contract.run_filter(
        OWNER, "r1", "p1"
    )


async def test_replay_reads_the_stream_from_its_first_event() -> None:
    nats = FakeNats()
    async with project_run_events(nats.client, OWNER, "p1", replay=True):
        pass
    (asked,) = nats.subscribed
    assert asked["subject"] == contract.project_runs_filter(OWNER, "p1")
    assert asked["stream"] == STREAM
    assert asked["ordered_consumer"] is True
    assert asked["config"].deliver_policy == DeliverPolicy.ALL
    assert nats.subscriptions[0].unsubscribed


async def test_without_replay_it_reads_from_the_streams_next_event() -> None:
    nats = FakeNats(last_seq=41)
    async with project_run_events(nats.client, OWNER, "p1"):
        pass
    config = nats.subscribed[0]["config"]
    assert config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert config.opt_start_seq == 42


async def test_events_typed_once_each_and_what_is_none_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_subject = contract.subject_of(phase("r1"))
    nats = FakeNats(
        last_seq=10,
        deliveries=[
            # Stored before the subscription (an ordered consumer restarted
            # from the stream's first): not new.
            of(3, phase("r0")),
            of(11, phase("r1")),
            delivery(12, run_subject, b"\xff\xfe not protobuf"),
            delivery(13, run_subject + ".future", b""),
            of(14, step("r1")),
            of(14, step("r1")),  # a repeat
            of(15, phase("r1", number=2)),
        ],
    )
    seen: list[RunEvent] = []
    with caplog.at_level(logging.WARNING, logger="simpipe_client.events"):
        async with project_run_events(nats.client, OWNER, "p1") as events:
            assert isinstance(events, RunEvents)
            async for event in events:
                seen.append(event)
    assert [(e.sequence, e.event_type) for e in seen] == [
        (11, "DryRunPhaseChanged"),
        (14, "StepPhaseChanged"),
        (15, "DryRunPhaseChanged"),
    ]
    assert isinstance(seen[0].message, events_pb2.DryRunPhaseChanged)
    assert seen[0].message.dry_run_id == "r1"
    assert seen[0].subject == run_subject
    assert isinstance(seen[1].message, events_pb2.StepPhaseChanged)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2


async def test_a_plain_async_for_subscribes_and_unsubscribes_itself() -> None:
    nats = FakeNats(deliveries=[of(1, phase("r1")), of(2, phase("r1", number=2))])
    events = run_events(nats.client, OWNER, "r1")
    assert not nats.subscribed  # nothing asked before the first event
    iterator = aiter(events)
    first = await anext(iterator)
    assert first.sequence == 1
    assert nats.subscribed[0]["config"].deliver_policy == DeliverPolicy.ALL
    await iterator.aclose()
    assert nats.subscriptions[0].unsubscribed


async def test_entered_twice_is_refused() -> None:
    nats = FakeNats()
    async with project_run_events(nats.client, OWNER, "p1") as events:
        with pytest.raises(RuntimeError):
            await events.__aenter__()
