"""The last event the stream holds on a subject. Services that must not
publish a state twice (the argo-watcher's runs, the metrics-collector's
reports) ask the stream what they published last instead of remembering it:
a restarted replica, or a new leader, knows as much as the one before."""

from typing import Protocol, TypeVar

from google.protobuf.message import Message
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from simpipe_events import contract
from simpipe_events.stream import STREAM

Event = TypeVar("Event", bound=Message)


class LastMessages(Protocol):
    """The part of JetStream's API the read takes (a JetStreamContext has it)."""

    async def get_last_msg(
        self, stream_name: str, subject: str, direct: bool | None = False
    ) -> RawStreamMsg: ...


async def last_event(jetstream: LastMessages, like: Event) -> Event | None:
    """The last event on the subject `like` is published on (an event of the
    same type: the subject names it); None when the stream holds none."""
    try:
        # Direct: the request's subject names the event's, so NATS lets a
        # service read back its own subjects only (simpipe_events.permissions).
        stored = await jetstream.get_last_msg(STREAM, contract.subject_of(like), direct=True)
    except NotFoundError:
        return None
    return type(like).FromString(stored.data or b"")
