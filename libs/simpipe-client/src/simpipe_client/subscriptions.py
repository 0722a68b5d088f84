"""Subscriptions over graphql-transport-ws that outlive the gateway going away.

A subscription whose connection drops (the gateway restarted, a replica went
away) connects again and subscribes again, for up to `reconnect_seconds`
without a connection. The gateway answers a new subscription to a run with
the run's stored events first, so nothing that happened meanwhile is lost;
what was delivered already is not delivered twice: after a reconnect, each
payload delivered before is skipped once when it comes again (the replay
need not keep the order the live updates came in), as often as it was
delivered; a repeat beyond that is new, so an update that really happens
twice (Running again after a resume) is not lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.sync.client import connect as sync_connect

from simpipe_client.errors import (
    GatewayUnavailableError,
    SimpipeError,
    graphql_error,
    unreachable,
)

PROTOCOL = "graphql-transport-ws"
ACK_SECONDS = 10.0
# The pause before connecting again grows to this.
MAX_BACKOFF_SECONDS = 2.0
# What a dropped or refused connection raises: the socket's errors, the
# handshake's and the protocol's.
_DROPPED = (OSError, websockets.exceptions.WebSocketException, TimeoutError)


class SubscriptionEnded(Exception):  # noqa: N818 (control flow, not an error)
    """The server completed the subscription."""


def ws_url(http_url: str) -> str:
    """The websocket URL of a GraphQL endpoint's http(s) URL."""
    return "ws" + http_url.removeprefix("http")


def init_message(token: str | None) -> str:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    return json.dumps({"type": "connection_init", "payload": payload})


def subscribe_message(
    operation_id: str, query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> str:
    payload: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation_name:
        payload["operationName"] = operation_name
    return json.dumps({"id": operation_id, "type": "subscribe", "payload": payload})


def parsed(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise GatewayUnavailableError(f"not a graphql-transport-ws message: {str(raw)[:200]}")
    return message


def data_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """A `next` message's data; None for a message to skip. Raises
    SubscriptionEnded on `complete`, the typed GraphQL error on `error` or
    a payload with errors."""
    kind = message.get("type")
    if kind == "next":
        payload = message.get("payload") or {}
        if payload.get("errors"):
            raise graphql_error(payload["errors"])
        data: dict[str, Any] = payload.get("data") or {}
        return data
    if kind == "error":
        errors = message.get("payload")
        raise graphql_error(errors if isinstance(errors, list) else [{"message": str(errors)}])
    if kind == "complete":
        raise SubscriptionEnded
    return None


def is_ack(raw: str | bytes) -> bool:
    message = parsed(raw)
    if message.get("type") == "connection_error":
        raise graphql_error([{"message": str(message.get("payload"))}])
    return message.get("type") == "connection_ack"


@dataclass
class Resumption:
    """What one subscription delivered and how long it has been without a
    connection: decides whether to connect again and what to skip."""

    reconnect_seconds: float
    delivered: Counter[bytes] = field(default_factory=Counter)
    # After a reconnect: what the replay has yet to repeat.
    expected: Counter[bytes] = field(default_factory=Counter)
    lost_at: float | None = None
    attempts: int = 0

    def connected(self) -> None:
        """A new connection: what it sends first repeats what was delivered."""
        self.expected = self.delivered.copy()

    def fresh(self, data: dict[str, Any]) -> bool:
        """Whether `data` is to be delivered (and remembers it)."""
        self.lost_at = None
        self.attempts = 0
        # A digest, not the payload: a followed log's batches are kept for
        # hours, and only their identity is needed.
        key = hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=16).digest()
        if self.expected[key] > 0:
            self.expected[key] -= 1
            return False
        self.delivered[key] += 1
        return True

    def pause_after(self, error: BaseException, url: str) -> float:
        """The pause before connecting again; GatewayUnavailableError when the
        connection has been gone longer than allowed."""
        now = time.monotonic()
        if self.lost_at is None:
            self.lost_at = now
        if now - self.lost_at >= self.reconnect_seconds:
            raise unreachable(url, error) from error
        self.attempts += 1
        return float(min(MAX_BACKOFF_SECONDS, 0.1 * 2.0**self.attempts))


async def subscribe(
    url: str,
    token: str | None,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    reconnect_seconds: float,
) -> AsyncIterator[dict[str, Any]]:
    """Each `next` payload's data until the server completes the subscription."""
    resumption = Resumption(reconnect_seconds)
    while True:
        try:
            async with websockets.connect(
                url, subprotocols=[websockets.Subprotocol(PROTOCOL)]
            ) as ws:
                await ws.send(init_message(token))
                async with asyncio.timeout(ACK_SECONDS):
                    while not is_ack(await ws.recv()):
                        pass
                await ws.send(
                    subscribe_message(str(uuid.uuid4()), query, operation_name, variables)
                )
                resumption.connected()
                async for raw in ws:
                    message = parsed(raw)
                    if message.get("type") == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                        continue
                    data = data_of(message)
                    if data is not None and resumption.fresh(data):
                        yield data
                # The server closed without completing: it went away.
                raise websockets.exceptions.ConnectionClosedOK(None, None)
        except SubscriptionEnded:
            return
        except SimpipeError:
            raise
        except _DROPPED as error:
            await asyncio.sleep(resumption.pause_after(error, url))


def subscribe_sync(
    url: str,
    token: str | None,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    reconnect_seconds: float,
) -> Iterator[dict[str, Any]]:
    """subscribe()'s blocking twin, for the sync client."""
    resumption = Resumption(reconnect_seconds)
    while True:
        try:
            with sync_connect(
                url, subprotocols=[websockets.Subprotocol(PROTOCOL)], open_timeout=ACK_SECONDS
            ) as ws:
                ws.send(init_message(token))
                while not is_ack(ws.recv(timeout=ACK_SECONDS)):
                    pass
                ws.send(subscribe_message(str(uuid.uuid4()), query, operation_name, variables))
                resumption.connected()
                for raw in ws:
                    message = parsed(raw)
                    if message.get("type") == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                        continue
                    data = data_of(message)
                    if data is not None and resumption.fresh(data):
                        yield data
                raise websockets.exceptions.ConnectionClosedOK(None, None)
        except SubscriptionEnded:
            return
        except SimpipeError:
            raise
        except _DROPPED as error:
            time.sleep(resumption.pause_after(error, url))
