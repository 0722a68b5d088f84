"""A subscription lasts only while its caller may see what it streams.

Before each event goes out, the caller's credential must still hold and
the event must be the caller's own (its payload names its owner, as its
subject does). An idle subscription does not wait for an event to notice:
it wakes when any access token leaves the store (a revocation seen by this
replica's watch) and when its credential expires, and ends with
UNAUTHENTICATED once its credential no longer holds.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

import structlog

from simpipe_common.errors import UnauthenticatedError
from simpipe_gateway.auth import Authenticator, Caller
from simpipe_gateway.context import GatewayInfo, credential, gateway
from simpipe_gateway.errors import from_service_error

log = structlog.get_logger(__name__)


class _OwnedPayload(Protocol):
    @property
    def owner(self) -> str: ...


class OwnedEvent(Protocol):
    """An event of the contract that names its owner (run and simulation events)."""

    @property
    def payload(self) -> _OwnedPayload: ...


Event = TypeVar("Event", bound=OwnedEvent)


@dataclass
class _Consumer:
    """Where the subscription's reader is: only a reader waiting for the next
    event is interrupted; one busy elsewhere (sending the last event) checks
    the credential before it waits again."""

    task: "asyncio.Task[object] | None" = None
    lapsed: bool = False


async def while_authorized(
    info: GatewayInfo, events: AsyncGenerator[Event, None]
) -> AsyncIterator[Event]:
    found = await credential(info)
    if found is None:
        raise from_service_error(UnauthenticatedError("authentication required"))
    authenticator = gateway(info).authenticator
    consumer = _Consumer()
    # One guard for the subscription's life, not a wait per event: with
    # hundreds of subscribers, tasks made and cancelled for every event were
    # a large part of the gateway's time.
    guard = (
        asyncio.create_task(_interrupt_when_lapsed(authenticator, found, consumer))
        if found.may_lapse
        else None
    )
    try:
        while True:
            if not authenticator.still_valid(found):
                raise _lapsed()
            consumer.task = asyncio.current_task()
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if consumer.lapsed and task is not None and task.uncancel() == 0:
                    raise _lapsed() from None
                raise
            finally:
                consumer.task = None
            if event.payload.owner != found.name:
                log.warning("event of another owner withheld from a subscription")
                continue
            yield event
    finally:
        if guard is not None:
            guard.cancel()
        await events.aclose()


def _lapsed() -> Exception:
    return from_service_error(UnauthenticatedError("the credential was revoked or has expired"))


async def _interrupt_when_lapsed(
    authenticator: Authenticator, found: Caller, consumer: _Consumer
) -> None:
    """Waits until the credential no longer holds (a token leaving the store,
    its expiry), then interrupts the reader if it is waiting for an event."""
    store = authenticator.store if found.token_id is not None else None
    while authenticator.still_valid(found):
        expires_in = None if found.expires_at is None else max(0.0, found.expires_at - time.time())
        with contextlib.suppress(TimeoutError):
            if store is not None:
                await asyncio.wait_for(store.removal(), expires_in)
            elif expires_in is not None:
                await asyncio.sleep(expires_in)
    consumer.lapsed = True
    if consumer.task is not None:
        consumer.task.cancel()
