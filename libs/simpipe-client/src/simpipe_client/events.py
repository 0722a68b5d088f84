"""A project's (or one run's) events over NATS JetStream, typed by the event
contract (proto/simpipe/v1/events.proto), for tools inside the mesh that
hold NATS credentials (a GraphQL subscription per run would be a detour for
them). Needs the client's `events` extra (simpipe-events, nats-py).

    nc = await nats.connect(url, **connect_options(settings))
    async with project_run_events(nc, "alice", project_id) as events:
        ...  # subscribed: start a run, nothing it publishes is missed
        async for event in events:
            print(event.event_type, event.message)

A plain `async for event in project_run_events(...)` works too; it
subscribes when it asks for its first event. The events of one subscription
come in stream order, each once; it ends when the connection closes.

The filter is the contract's own (`contract.project_runs_filter`,
`contract.run_filter`): an owner or id that cannot be a subject token is
refused by the call itself (InvalidSubjectTokenError), never widened into a
wildcard. A message on those subjects that is no event of the contract (say,
of a newer contract's event type) is skipped with a warning. What NATS lets
the connection read is its user's permissions' business: the consumer is
nats-py's ordered consumer, made without a name, which the mesh's `reader`
user may not create (its consumers must be named: simpipe_events.permissions).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from simpipe_events import contract
from simpipe_events.stream import STREAM

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunEvent:
    """One event of the contract: where it was published, its place in the
    stream, and the decoded message (DryRunPhaseChanged, StepPhaseChanged,
    DryRunSubmitted, MetricsReady)."""

    subject: str
    sequence: int
    message: Message

    @property
    def event_type(self) -> str:
        """The message's type name, e.g. "DryRunPhaseChanged"."""
        return self.message.DESCRIPTOR.name


def decoded(msg: Msg) -> RunEvent | None:
    """The event a JetStream delivery carries; None (and a warning) for a
    message that is no event of the contract."""
    try:
        message = contract.decode(msg.subject, msg.data)
    except contract.UndecodableEventError as error:
        log.warning("skipped a message that is no event of the contract: %s", error)
        return None
    return RunEvent(msg.subject, msg.metadata.sequence.stream, message)


class RunEvents:
    """The events on one of the contract's run filters: subscribed while
    entered (`async with`), or while a plain `async for` runs."""

    def __init__(self, nc: Client, filter_subject: str, *, replay: bool) -> None:
        self._nc = nc
        self.filter_subject = filter_subject
        self.replay = replay
        self._subscription: JetStreamContext.PushSubscription | None = None
        # Events at or below this stream sequence are not passed on: those
        # stored before a subscription without replay, and any repeat.
        self._floor = 0

    async def __aenter__(self) -> Self:
        if self._subscription is not None:
            raise RuntimeError("these events are subscribed to already")
        js = self._nc.jetstream()
        if self.replay:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        else:
            # From the stream's next sequence rather than DeliverPolicy.NEW:
            # nats-py restarts an ordered consumer that lost its server (a
            # reconnect) after its last event, or from the stream's first if
            # it had none yet; the floor keeps what came before out then.
            self._floor = (await js.stream_info(STREAM)).state.last_seq
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._floor + 1
            )
        self._subscription = await js.subscribe(
            self.filter_subject, stream=STREAM, ordered_consumer=True, config=config
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None and not self._nc.is_closed:
            await subscription.unsubscribe()

    def __aiter__(self) -> AsyncGenerator[RunEvent, None]:
        return self._events()

    async def _events(self) -> AsyncGenerator[RunEvent, None]:
        # Entered already (`async with`): that subscription; else one of its own.
        async with contextlib.nullcontext() if self._subscription is not None else self:
            async for event in self._read():
                yield event

    async def _read(self) -> AsyncGenerator[RunEvent, None]:
        subscription = self._subscription
        assert subscription is not None
        async for msg in subscription.messages:
            event = decoded(msg)
            if event is None or event.sequence <= self._floor:
                continue
            self._floor = event.sequence
            yield event


def project_run_events(
    nc: Client, owner: str, project_id: str, *, replay: bool = False
) -> RunEvents:
    """Every run event of `owner`'s project `project_id` (the runs' phases,
    their steps', their reports) published from the subscription on; with
    `replay`, the stored ones first. `owner` is the user's name as the mesh
    knows it; contract.NO_PROJECT selects the runs outside any project."""
    if not project_id:
        # The contract would make it NO_PROJECT's token: not what was meant.
        raise contract.InvalidSubjectTokenError("a project's events need its id")
    return RunEvents(nc, contract.project_runs_filter(owner, project_id), replay=replay)


def run_events(
    nc: Client, owner: str, dry_run_id: str, *, project_id: str | None = None, replay: bool = True
) -> RunEvents:
    """Every event of `owner`'s run `dry_run_id`, by default from its first
    (`replay`); in any project unless `project_id` is given."""
    return RunEvents(nc, contract.run_filter(owner, dry_run_id, project_id), replay=replay)
