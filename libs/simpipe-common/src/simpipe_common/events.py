"""The mesh's event stream on NATS JetStream: one stream, subjects that name
the entity, protobuf payloads from proto/simpipe/v1/events.proto.

Every event carries a `Nats-Msg-Id` (its EventMeta.event_id): JetStream drops
a repeat inside the duplicate window, and consumers skip ids they have seen,
so redelivery and republishing (e.g. after a watcher restart) are harmless.
"""

import asyncio
import re
from datetime import UTC, datetime

import nats
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from simpipe.v1 import events_pb2

STREAM = "SIMPIPE"
SUBJECT_ROOT = "simpipe"
# How long JetStream remembers message ids to drop duplicates.
DUPLICATE_WINDOW_SECONDS = 300.0
MAX_AGE_SECONDS = 7 * 24 * 3600.0

# A subject token: what Kubernetes names (DNS-1123 labels) and Argo node ids
# contain; never '.', '*', '>' or whitespace, which would change the subject.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,253}$")


class InvalidSubjectTokenError(ValueError):
    pass


def token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise InvalidSubjectTokenError(f"{value!r} cannot be part of an event subject")
    return value


def run_subject(project_id: str, dry_run_id: str, kind: str) -> str:
    """simpipe.run.<project>.<run>.<kind>; an empty project is `_`."""
    return f"{SUBJECT_ROOT}.run.{token(project_id or '_')}.{token(dry_run_id)}.{token(kind)}"


def step_subject(dry_run_id: str, node_id: str, kind: str = "phase") -> str:
    return f"{SUBJECT_ROOT}.step.{token(dry_run_id)}.{token(node_id)}.{token(kind)}"


def metrics_subject(dry_run_id: str, kind: str = "ready") -> str:
    return f"{SUBJECT_ROOT}.metrics.{token(dry_run_id)}.{token(kind)}"


def object_subject(bucket: str, kind: str) -> str:
    """simpipe.object.<bucket>.<kind>; '.' in a bucket name is written '_'
    (S3 bucket names never contain '_', so no two buckets share a subject)."""
    return f"{SUBJECT_ROOT}.object.{token(bucket.replace('.', '_'))}.{token(kind)}"


def event_meta(event_id: str, source: str, trace_parent: str = "") -> events_pb2.EventMeta:
    occurred = Timestamp()
    occurred.FromDatetime(datetime.now(UTC))
    return events_pb2.EventMeta(
        event_id=event_id, occurred_at=occurred, trace_parent=trace_parent, source=source
    )


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    config = StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=MAX_AGE_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Exists with another configuration (an older version of ours).
        await js.update_stream(config)


# JetStream's de-duplication header; events carry their event id in it.
MSG_ID_HEADER = "Nats-Msg-Id"


async def publish(
    js: JetStreamContext, subject: str, payload: Message, event_id: str, trace_parent: str = ""
) -> int:
    """Publish and wait for JetStream's ack; returns the stream sequence."""
    headers = {MSG_ID_HEADER: event_id}
    if trace_parent:
        headers["traceparent"] = trace_parent
    ack = await js.publish(subject, payload.SerializeToString(), stream=STREAM, headers=headers)
    return ack.seq


class LazyJetStream:
    """A JetStream context opened on first use, so a NATS outage at start-up
    delays events rather than the service; the stream is ensured once."""

    def __init__(self, nats_url: str, connect_timeout: float = 2.0) -> None:
        self._url = nats_url
        self._timeout = connect_timeout
        self._connection: Client | None = None
        self._js: JetStreamContext | None = None
        # Concurrent first users share one connection instead of each opening
        # one (only the last would be kept; the others would reconnect for ever).
        self._connecting = asyncio.Lock()

    @property
    def interruptions(self) -> int:
        """How often the connection came back after dropping: core-NATS
        subscribers missed what was published meanwhile (JetStream consumers
        can catch up). nats-py counts a reconnect once the server accepted it,
        before it subscribes again."""
        return int(self._connection.stats["reconnects"]) if self._connection else 0

    async def get(self) -> JetStreamContext:
        if self._js is not None:  # every publish asks: no lock once connected
            return self._js
        async with self._connecting:
            if self._js is None:
                connection = await nats.connect(
                    self._url, connect_timeout=self._timeout, max_reconnect_attempts=-1
                )
                js = connection.jetstream()
                try:
                    await ensure_stream(js)
                except Exception:
                    await connection.close()
                    raise
                self._connection, self._js = connection, js
            return self._js

    async def connection(self) -> Client:
        """The connection under the JetStream context, for core-NATS subscriptions."""
        await self.get()
        assert self._connection is not None
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.drain()
        self._connection = self._js = None
