"""A project's run events over NATS JetStream, typed by the event contract
(proto/simpipe/v1/events.proto), for tools inside the mesh that hold NATS
credentials (a GraphQL subscription per run would be a detour for them).

    nc = await nats.connect(url, user=..., password=..., tls=...)
    async for event in project_run_events(nc, "alice", "my-project", replay=True):
        print(event.event_type, event.message)

The filter is the contract's own (`contract.project_runs_filter`): an owner
and a project that cannot be subject tokens are refused
(InvalidSubjectTokenError), never widened into a wildcard. What NATS lets
the connection read is its user's permissions' business. Needs the client's
`events` extra (simpipe-events, nats-py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from simpipe_events import contract
from simpipe_events.stream import STREAM

log = logging.getLogger(__name__)

# Events taken off the connection but not yet read by the caller.
MAX_QUEUED = 10_000


@dataclass(frozen=True)
class RunEvent:
    """One event of the contract: where it was published, its place in the
    stream, and the decoded message (DryRunPhaseChanged, NodePhaseChanged, ...)."""

    subject: str
    sequence: int
    message: Message

    @property
    def event_type(self) -> str:
        """The message's type name, e.g. "DryRunPhaseChanged"."""
        return self.message.DESCRIPTOR.name


async def project_run_events(
    nc: Client, owner: str, project_id: str, *, replay: bool = False
) -> AsyncGenerator[RunEvent, None]:
    """Every run event of `owner`'s project `project_id`, as it is published;
    with `replay`, the stored ones first. A message that is no event of the
    contract is skipped with a warning."""
    if not project_id:
        # An empty project is the contract's "no project" token: not a project.
        raise contract.InvalidSubjectTokenError("a project's events need its id")
    async for event in _events(nc, contract.project_runs_filter(owner, project_id), replay):
        yield event


async def run_events(
    nc: Client, owner: str, dry_run_id: str, *, project_id: str | None = None, replay: bool = True
) -> AsyncGenerator[RunEvent, None]:
    """Every event of one run of `owner`'s (its phases, its steps', its report)."""
    async for event in _events(nc, contract.run_filter(owner, dry_run_id, project_id), replay):
        yield event


async def _events(nc: Client, subject: str, replay: bool) -> AsyncGenerator[RunEvent, None]:
    queue: asyncio.Queue[Msg] = asyncio.Queue(MAX_QUEUED)

    async def take(msg: Msg) -> None:
        await queue.put(msg)

    subscription = await nc.jetstream().subscribe(
        subject,
        stream=STREAM,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL if replay else DeliverPolicy.NEW,
        cb=take,
    )
    try:
        while True:
            msg = await queue.get()
            try:
                message = contract.decode(msg.subject, msg.data)
            except contract.UndecodableEventError as error:
                log.warning("skipped a message that is no event: %s", error)
                continue
            yield RunEvent(msg.subject, msg.metadata.sequence.stream, message)
    finally:
        await subscription.unsubscribe()
