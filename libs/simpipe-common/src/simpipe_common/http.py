"""The HTTP side of every service: /health and /metrics on uvicorn, plus any ASGI apps
a service mounts (the gateway mounts its GraphQL API)."""

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import prometheus_client
import uvicorn

from simpipe_common.checks import Check

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HealthApp:
    """Serves /health (503 while a readiness check fails; what is still
    starting listed under "starting", without failing it) and /metrics;
    `routes` maps other exact paths to their ASGI apps; `fallback`, if any,
    answers every other HTTP request (a web GUI's files)."""

    def __init__(
        self,
        service: str,
        version: str,
        readiness: Sequence[Check],
        routes: Mapping[str, ASGIApp],
        starting: Sequence[Check] = (),
        fallback: ASGIApp | None = None,
    ) -> None:
        self._service = service
        self._version = version
        self._readiness = readiness
        self._starting = starting
        self._routes = routes
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mounted = self._routes.get(scope["path"])
        if mounted is not None:
            await mounted(scope, receive, send)
        elif scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
        elif scope["path"] == "/health":
            await self._health(send)
        elif scope["path"] == "/metrics":
            await respond(send, 200, prometheus_client.CONTENT_TYPE_LATEST, _metrics())
        elif self._fallback is not None:
            await self._fallback(scope, receive, send)
        else:
            await respond(send, 404, "text/plain; charset=utf-8", b"not found\n")

    async def _health(self, send: Send) -> None:
        results = await asyncio.gather(*(check() for check in self._readiness))
        failing = {result.name: result.detail for result in results if not result.ok}
        body: dict[str, Any] = {
            "status": "unavailable" if failing else "ok",
            "service": self._service,
            "version": self._version,
        }
        if failing:
            body["failing"] = failing
        started = await asyncio.gather(*(check() for check in self._starting))
        starting = {result.name: result.detail for result in started if not result.ok}
        if starting:
            body["starting"] = starting
        payload = json.dumps(body).encode()
        await respond(send, 503 if failing else 200, "application/json", payload)


def _metrics() -> bytes:
    return prometheus_client.generate_latest(prometheus_client.REGISTRY)


async def respond(send: Send, status: int, content_type: str, body: bytes) -> None:
    """A whole response (status, Content-Type, Content-Length, body) on an ASGI send."""
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _EmbeddedUvicorn(uvicorn.Server):
    # The service runner owns SIGTERM/SIGINT and shuts the servers down in order.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, app: ASGIApp, host: str, port: int, grace_seconds: float) -> None:
        self._host = host
        self._port = port
        self._server = _EmbeddedUvicorn(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=max(1, round(grace_seconds)),
                # Subscription messages are small: compressing each costs
                # both ends CPU for next to no bytes saved.
                ws_per_message_deflate=False,
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Listens and serves; returns the bound port."""
        # Binding here, not in uvicorn, makes a taken port an OSError for the caller.
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listener = socket.create_server((self._host, self._port), family=family)
        # Inherited by accepted connections (Linux): a response written as
        # headers then body is not held back ~40 ms by Nagle + delayed ACK.
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._task = asyncio.create_task(self._server.serve(sockets=[listener]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0.01)
        port: int = listener.getsockname()[1]
        return port

    async def stop(self) -> None:
        """Stops listening, lets open requests finish within the grace period."""
        if self._task is not None:
            self._server.should_exit = True
            await self._task
