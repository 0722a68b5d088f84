"""Publishing the contract's events through a FastStream NatsBroker.

Every event goes to the subject its fields name (contract.subject_of), with
its event id as `Nats-Msg-Id`, and waits for the stream's acknowledgement.
`publish_soon` is for events that follow a command which already took
effect (a run created, an object uploaded): the command does not wait for
JetStream's fsync, and the event is retried in the background until the
stream has it, so an outage of NATS delays it rather than losing it.
"""

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from faststream.nats import NatsBroker
from google.protobuf.message import Message

from simpipe_events import contract
from simpipe_events.stream import STREAM

# Between tries of an event that was not acknowledged; the last repeats.
RETRY_DELAYS_SECONDS: Final = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def headers(event: Message) -> dict[str, str]:
    found = {contract.MSG_ID_HEADER: contract.event_id(event)}
    trace_parent = event.meta.trace_parent  # type: ignore[attr-defined]
    if trace_parent:
        found[contract.TRACEPARENT_HEADER] = trace_parent
    return found


class EventPublisher:
    def __init__(
        self,
        broker: NatsBroker,
        *,
        timeout_seconds: float = 5.0,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
        max_pending: int = 10_000,
        on_retry: Callable[[Message, Exception], None] | None = None,
        on_dropped: Callable[[Message], None] | None = None,
    ) -> None:
        self.broker = broker
        self.timeout_seconds = timeout_seconds
        self.retry_delays = tuple(retry_delays)
        self.max_pending = max_pending
        self.on_retry = on_retry
        self.on_dropped = on_dropped
        self._pending: set[asyncio.Task[None]] = set()

    async def publish(self, event: Message) -> int:
        """Publishes and waits for the stream's acknowledgement; the stream
        sequence. Raises what NATS raised."""
        ack = await self.broker.publish(
            # FastStream's annotation names the bodies its own codec takes;
            # the contract's codec (the broker's) takes protobuf messages.
            cast("Any", event),
            contract.subject_of(event),
            headers=headers(event),
            stream=STREAM,
            timeout=self.timeout_seconds,
        )
        return int(ack.seq)

    def publish_soon(self, event: Message) -> None:
        """Publishes in the background, retrying until acknowledged (or until
        `drain` gives up). The subject is checked now: a bad one raises here.
        Beyond `max_pending` events waiting for NATS the event is dropped and
        `on_dropped` told: the command it follows has happened, and memory
        stays bounded through a long outage."""
        contract.subject_of(event)
        if len(self._pending) >= self.max_pending:
            if self.on_dropped is not None:
                self.on_dropped(event)
            return
        task = asyncio.create_task(self._publish_until_acknowledged(event))
        # The loop holds tasks weakly: keep each until done.
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def publish_or_retry(self, event: Message, wait_seconds: float) -> None:
        """For an event that follows a command which took effect: waits up to
        `wait_seconds` for the stream's acknowledgement, so a process killed
        right after answering has not lost it; if NATS is slower or away,
        the command is not failed for it: the event is retried in the
        background (`publish_soon`)."""
        try:
            await asyncio.wait_for(self.publish(event), wait_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # NATS away or slow: retried behind the answer
            if self.on_retry is not None:
                self.on_retry(event, error)
            self.publish_soon(event)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _publish_until_acknowledged(self, event: Message) -> None:
        tries = 0
        while True:
            try:
                await self.publish(event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS away or slow: tried again
                if self.on_retry is not None:
                    self.on_retry(event, error)
                await asyncio.sleep(self.retry_delays[min(tries, len(self.retry_delays) - 1)])
                tries += 1

    async def drain(self, timeout_seconds: float) -> int:
        """Waits up to `timeout_seconds` for the events in flight, then gives
        up on the rest; how many were given up."""
        if not self._pending:
            return 0
        _, left = await asyncio.wait(set(self._pending), timeout=timeout_seconds)
        for task in left:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*left, return_exceptions=True)
        return len(left)
