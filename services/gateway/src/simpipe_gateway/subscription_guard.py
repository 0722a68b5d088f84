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
from typing import Protocol, TypeVar

import structlog

from simpipe_common.errors import UnauthenticatedError
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


async def while_authorized(
    info: GatewayInfo, events: AsyncGenerator[Event, None]
) -> AsyncIterator[Event]:
    found = await credential(info)
    if found is None:
        raise from_service_error(UnauthenticatedError("authentication required"))
    authenticator = gateway(info).authenticator
    store = authenticator.store if found.token_id is not None else None
    pending: asyncio.Future[Event] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            waits: set[asyncio.Future[object]] = {pending}  # type: ignore[arg-type]
            if store is not None:
                waits.add(asyncio.ensure_future(store.removal()))
            expires_in = (
                None if found.expires_at is None else max(0.0, found.expires_at - time.time())
            )
            done, _ = await asyncio.wait(
                waits, timeout=expires_in, return_when=asyncio.FIRST_COMPLETED
            )
            for waiting in waits - {pending}:
                waiting.cancel()
            if not authenticator.still_valid(found):
                raise from_service_error(
                    UnauthenticatedError("the credential was revoked or has expired")
                )
            if pending not in done:
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            if event.payload.owner != found.name:
                log.warning("event of another owner withheld from a subscription")
                continue
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        await events.aclose()
