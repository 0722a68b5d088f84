"""The publisher's two ways after a command took effect: acknowledged before
the answer, or retried behind it when NATS is slow or away."""

import asyncio
from typing import Any, cast

from faststream.nats import NatsBroker

from simpipe.v1 import events_pb2
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher


class Ack:
    seq = 7


class FlakyBroker:
    """Refuses the first `failures` publishes, then acknowledges."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.published: list[tuple[Any, str, dict[str, str]]] = []

    async def publish(self, event: Any, subject: str, **options: Any) -> Ack:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("NATS away")
        self.published.append((event, subject, options["headers"]))
        return Ack()


def deleted() -> events_pb2.ObjectDeleted:
    return events_pb2.ObjectDeleted(
        meta=contract.meta("deleted:b:k:1", "test"), bucket="b", key="k", caller="a", owner="a"
    )


async def test_an_acknowledged_event_is_stored_before_the_answer() -> None:
    broker = FlakyBroker(0)
    publisher = EventPublisher(cast(NatsBroker, broker))
    await publisher.publish_or_retry(deleted(), 1.0)
    [(event, subject, headers)] = broker.published
    assert (event.key, event.owner) == ("k", "a")
    assert subject == contract.subject_of(deleted())
    assert headers[contract.MSG_ID_HEADER] == "deleted:b:k:1"
    assert publisher.pending == 0


async def test_an_event_nats_refuses_is_retried_behind_the_answer() -> None:
    broker = FlakyBroker(2)
    retried: list[str] = []
    publisher = EventPublisher(
        cast(NatsBroker, broker),
        retry_delays=(0.0,),
        on_retry=lambda event, error: retried.append(repr(error)),
    )
    await publisher.publish_or_retry(deleted(), 1.0)
    assert broker.published == []  # the answer did not wait for it
    assert await publisher.drain(5.0) == 0
    assert len(broker.published) == 1
    assert len(retried) == 2


async def test_a_slow_nats_does_not_hold_the_answer() -> None:
    class Stalled(FlakyBroker):
        async def publish(self, event: Any, subject: str, **options: Any) -> Ack:
            await asyncio.Event().wait()
            raise AssertionError

    publisher = EventPublisher(cast(NatsBroker, Stalled(0)), retry_delays=(0.0,))
    await asyncio.wait_for(publisher.publish_or_retry(deleted(), 0.05), 2.0)
    assert publisher.pending == 1
    assert await publisher.drain(0.05) == 1  # given up at shutdown, and said so
