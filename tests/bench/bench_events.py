"""Benchmark of the event contract's publish path (`make bench`): an event
published with the stream's acknowledgement through the contract layer
(simpipe_events' EventPublisher on a FastStream NatsBroker: subject from the
event, Nats-Msg-Id, protobuf codec) vs. raw nats-py's JetStream publish of
the same bytes on the same subject, at the same concurrency, against the
stack's NATS (which fsyncs every write: `sync_interval: always`).

Rounds alternate between the two paths, each going first in every other
round. ObjectDeleted events of an owner of the benchmark's own are used: no
consumer of the mesh acts on them.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import nats
import pytest
from faststream.nats import NatsBroker, NatsUserPassword
from nats.js import JetStreamContext

from simpipe.v1 import events_pb2
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_events import contract
from simpipe_events.codec import ProtobufCodec
from simpipe_events.publisher import EventPublisher
from simpipe_events.stream import STREAM

ROUNDS = 6
EVENTS_PER_ROUND = 2000
CONCURRENCY = 16
OWNER = "bench-events"


def event(i: int, run: str) -> events_pb2.ObjectDeleted:
    event_id = f"bench:{run}:{i}"
    return events_pb2.ObjectDeleted(
        meta=contract.meta(event_id, "bench"),
        bucket="bench-events",
        key=f"runs/{run}/object-{i:06d}.parquet",
        caller=OWNER,
        owner=OWNER,
    )


async def _in_flight(count: int, publish_one: Callable[[int], Awaitable[None]]) -> float:
    """Events per second publishing `count` events, CONCURRENCY at a time."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with semaphore:
            await publish_one(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


async def _contract_publish(
    publisher: EventPublisher, events: list[events_pb2.ObjectDeleted], i: int
) -> None:
    await publisher.publish(events[i])


async def _raw_publish(
    js: JetStreamContext, messages: list[tuple[str, bytes, str]], i: int
) -> None:
    subject, body, event_id = messages[i]
    await js.publish(subject, body, stream=STREAM, headers={contract.MSG_ID_HEADER: event_id})


@pytest.mark.timeout(300)
async def test_publish_with_ack_through_the_contract_vs_raw_nats_py(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> None:
    # Both as the tests' NATS user.
    user = NatsUserPassword(mesh.nats_user, mesh.nats_password.get_secret_value())
    broker = NatsBroker(endpoints["nats"], codec=ProtobufCodec(), logger=None, security=user)
    await broker.connect()
    publisher = EventPublisher(broker)
    raw = await nats.connect(endpoints["nats"], **connect_options(mesh))
    js = raw.jetstream()
    ours: list[float] = []
    theirs: list[float] = []
    try:
        for round_ in range(ROUNDS + 1):
            prepared = [event(i, uuid.uuid4().hex[:8]) for i in range(EVENTS_PER_ROUND)]
            # The raw path sends what the contract layer would: same bytes,
            # subject and headers (its own ids), computed before the clock starts.
            raw_messages = [
                (contract.subject_of(e), e.SerializeToString(), f"raw:{contract.event_id(e)}")
                for e in prepared
            ]
            paths = [
                ("contract", functools.partial(_contract_publish, publisher, prepared)),
                ("raw", functools.partial(_raw_publish, js, raw_messages)),
            ]
            if round_ % 2:
                paths.reverse()
            for name, path in paths:
                rate = await _in_flight(EVENTS_PER_ROUND, path)
                if round_ > 0:  # the first round warms both up, untimed
                    (ours if name == "contract" else theirs).append(rate)
    finally:
        await raw.close()
        await broker.stop()
    ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
    print(
        f"\n[bench] JetStream publish with ack, {CONCURRENCY} in flight, n={ROUNDS}x"
        f"{EVENTS_PER_ROUND}: contract layer median {statistics.median(ours):.0f}/s |"
        f" raw nats-py median {statistics.median(theirs):.0f}/s |"
        f" ratio (per round, median) {ratio:.2f}"
    )
