"""The JetStream stream the events live in, and the durable consumers that
share work, declared once. The deployment creates them (`make up`, the
kustomize provisioning Job: `python -m simpipe_events provision`); services
only check at start that what they rely on is there (`problems`), and say
what is wrong instead of creating or changing it.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from simpipe.v1 import events_pb2
from simpipe_events import contract

STREAM: Final = "SIMPIPE"
SUBJECTS: Final = (f"{contract.ROOT}.>",)


@dataclass(frozen=True)
class StreamLimits:
    """What a deployment sizes; the rest of the stream is the contract's."""

    # How long events are replayable (a late subscriber, a consumer's backfill).
    max_age_seconds: float = 7 * 24 * 3600.0
    # Oldest events go first beyond this.
    max_bytes: int = 1 << 30
    # 1 on one NATS server; 3 on a cluster of three.
    replicas: int = 1


# How long JetStream remembers message ids to drop duplicates: longer than
# any publisher retries the same event.
DUPLICATE_WINDOW_SECONDS: Final = 300.0
# An event is a few hundred bytes; a megabyte is a bug, refused by the server.
MAX_MESSAGE_BYTES: Final = 1 << 20


def stream_config(limits: StreamLimits = StreamLimits()) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="SIM-PIPE's events (proto/simpipe/v1/events.proto)",
        subjects=list(SUBJECTS),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_seconds,
        max_bytes=limits.max_bytes,
        max_msg_size=MAX_MESSAGE_BYTES,
        num_replicas=limits.replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        # Last-message reads (the watcher's "published already?") may be
        # answered by any replica.
        allow_direct=True,
    )


@dataclass(frozen=True)
class DurableConsumer:
    """A durable pull consumer shared by a service's replicas: each event goes
    to one of them, and is redelivered until acknowledged."""

    name: str
    filter_subject: str
    # Redelivery when unacknowledged: after the first, each wait in turn;
    # the last repeats. Never given up (max_deliver -1): an event that
    # matters is retried until handled, and an alert counts the retries.
    backoff_seconds: tuple[float, ...]
    # Unacknowledged events one replica may hold at once.
    max_ack_pending: int
    # A new consumer starts this far back in the stream, so events published
    # before the first replica ran are handled too.
    backfill_seconds: float
    description: str = ""

    def config(self, now: datetime | None = None) -> ConsumerConfig:
        start = (now or datetime.now(UTC)) - timedelta(seconds=self.backfill_seconds)
        return ConsumerConfig(
            durable_name=self.name,
            description=self.description,
            filter_subject=self.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            # The first redelivery waits for the first backoff step.
            ack_wait=self.backoff_seconds[0],
            backoff=list(self.backoff_seconds),
            max_deliver=-1,
            max_ack_pending=self.max_ack_pending,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=start,
        )


# The metrics-collector writes the report of every run that ends.
REPORTS: Final = DurableConsumer(
    name="metrics-collector-reports",
    description="run phase events; the collector reports runs that ended",
    filter_subject=contract.event_type(events_pb2.DryRunPhaseChanged).filter(),
    # A report takes seconds; a replica that died holding one hands it on
    # after 2 minutes. Then 30 s, 1, 2, 5 and every 10 minutes.
    backoff_seconds=(120.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    max_ack_pending=64,
    backfill_seconds=24 * 3600.0,
)

DURABLE_CONSUMERS: Final = (REPORTS,)


class StreamProblemError(RuntimeError):
    """The stream or a consumer a service relies on is missing or not as declared."""


def stream_problems(found: StreamConfig | None) -> list[str]:
    """What makes the stream unfit for the contract; empty when it is fit.
    Limits (age, size, replicas) are the deployment's to choose."""
    if found is None:
        return [f"the JetStream stream {STREAM} does not exist"]
    want = stream_config()
    problems = []
    if sorted(found.subjects or []) != sorted(SUBJECTS):
        problems.append(f"its subjects are {found.subjects}, not {list(SUBJECTS)}")
    if found.retention != want.retention:
        problems.append(f"its retention is {found.retention}, not {want.retention}")
    if found.storage != want.storage:
        problems.append(f"its storage is {found.storage}, not {want.storage}")
    if not found.allow_direct:
        # Services read their own last events by direct get (last_event),
        # which NATS permits per subject.
        problems.append("its direct reads are off (allow_direct)")
    if (found.duplicate_window or 0) < DUPLICATE_WINDOW_SECONDS:
        problems.append(
            f"its duplicate window is {found.duplicate_window or 0:g} s, less than"
            f" {DUPLICATE_WINDOW_SECONDS:g} s (repeated events would be stored twice)"
        )
    return problems


def consumer_problems(consumer: DurableConsumer, found: ConsumerConfig | None) -> list[str]:
    if found is None:
        return [f"the durable consumer {consumer.name} does not exist"]
    problems = []
    if found.filter_subject != consumer.filter_subject:
        problems.append(
            f"{consumer.name} filters {found.filter_subject!r}, not {consumer.filter_subject!r}"
        )
    if found.ack_policy != AckPolicy.EXPLICIT:
        problems.append(f"{consumer.name} acknowledges {found.ack_policy}, not explicitly")
    if found.max_deliver not in (None, -1):
        problems.append(
            f"{consumer.name} gives an event up after {found.max_deliver} deliveries"
            " (its events must be retried until handled)"
        )
    return problems


async def _stream(js: JetStreamContext) -> StreamConfig | None:
    try:
        return (await js.stream_info(STREAM)).config
    except NotFoundError:
        return None


async def _consumer(js: JetStreamContext, name: str) -> ConsumerConfig | None:
    try:
        info = await js.consumer_info(STREAM, name)
    except NotFoundError:
        return None
    found: ConsumerConfig = info.config
    return found


async def check(js: JetStreamContext, consumers: tuple[DurableConsumer, ...] = ()) -> None:
    """Raises StreamProblemError naming everything that is wrong, and how to fix it."""
    problems = stream_problems(await _stream(js))
    if not problems:
        for consumer in consumers:
            problems += consumer_problems(consumer, await _consumer(js, consumer.name))
    if problems:
        raise StreamProblemError(
            "; ".join(problems)
            + ". The deployment owns the stream and its consumers: create or correct them"
            " with `python -m simpipe_events provision` (`make up` does; in a cluster, the"
            " simpipe-events-provision Job)."
        )


async def provision(
    js: JetStreamContext, limits: StreamLimits = StreamLimits(), now: datetime | None = None
) -> list[str]:
    """Creates the stream and the durable consumers, or brings them to their
    declaration; returns what it did."""
    done = []
    want = stream_config(limits)
    found = await _stream(js)
    if found is None:
        await js.add_stream(want)
        done.append(f"created stream {STREAM}")
    elif _differs(found, want):
        await js.update_stream(want)
        done.append(f"updated stream {STREAM}")
    for consumer in DURABLE_CONSUMERS:
        config = consumer.config(now)
        existing = await _consumer(js, consumer.name)
        if existing is None:
            await js.add_consumer(STREAM, config)
            done.append(f"created consumer {consumer.name}")
        elif consumer_problems(consumer, existing) or _consumer_differs(existing, config):
            # Its position is kept: the start time only matters at creation.
            kept = replace(
                config,
                deliver_policy=existing.deliver_policy,
                opt_start_time=existing.opt_start_time,
            )
            await js.add_consumer(STREAM, kept)  # an update of a durable with this name
            done.append(f"updated consumer {consumer.name}")
    return done


def _differs(found: StreamConfig, want: StreamConfig) -> bool:
    keys = (
        "subjects", "retention", "storage", "discard", "max_age", "max_bytes", "max_msg_size",
        "num_replicas", "duplicate_window", "allow_direct",
    )  # fmt: skip
    return any(getattr(found, key) != getattr(want, key) for key in keys)


def _consumer_differs(found: ConsumerConfig, want: ConsumerConfig) -> bool:
    keys = ("filter_subject", "ack_wait", "backoff", "max_deliver", "max_ack_pending")
    return any(getattr(found, key) != getattr(want, key) for key in keys)
