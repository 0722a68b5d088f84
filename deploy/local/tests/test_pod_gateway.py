from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from simpipe_devstack.pod_gateway import Route, serve


def test_route_parses_listen_and_target() -> None:
    assert Route.parse("10.244.0.1:6443=127.0.0.1:6443") == Route(
        "10.244.0.1", 6443, "127.0.0.1", 6443
    )
    with pytest.raises(ValueError, match="expected"):
        Route.parse("10.244.0.1:6443")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_bytes_flow_both_ways_through_the_gateway() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read(100))
        await writer.drain()
        writer.close()

    target = await asyncio.start_server(echo, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    listen_port = _free_port()
    stop = asyncio.Event()
    gateway = asyncio.create_task(
        serve([Route("127.0.0.1", listen_port, "127.0.0.1", target_port)], stop)
    )
    for _ in range(50):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listen_port)
            break
        except OSError:
            await asyncio.sleep(0.02)
    writer.write(b"ping")
    await writer.drain()
    assert await reader.read(100) == b"echo:ping"
    writer.close()
    stop.set()
    await gateway
    target.close()


def test_a_route_may_be_for_one_namespaces_pods() -> None:
    route = Route.parse("10.244.0.1:4222=127.0.0.1:4222@simpipe-system")
    assert route == Route("10.244.0.1", 4222, "127.0.0.1", 4222, "simpipe-system")


async def _through(route: Route, check: object) -> bytes:
    """What a client sending "ping" reads back through the gateway."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read(100))
        await writer.drain()
        writer.close()

    target = await asyncio.start_server(echo, "127.0.0.1", 0)
    route = Route(
        route.listen_host, _free_port(), "127.0.0.1", target.sockets[0].getsockname()[1],
        route.only_from,
    )  # fmt: skip
    stop = asyncio.Event()
    gateway = asyncio.create_task(serve([route], stop, check))  # type: ignore[arg-type]
    for _ in range(50):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", route.listen_port)
            break
        except OSError:
            await asyncio.sleep(0.02)
    writer.write(b"ping")
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    try:
        answer = await reader.read(100)
    except ConnectionError:
        answer = b""
    writer.close()
    stop.set()
    await gateway
    target.close()
    return answer


async def test_only_the_namespaces_pods_get_through() -> None:
    asked: list[tuple[str, str]] = []

    async def services_only(address: str, namespace: str) -> bool:
        asked.append((address, namespace))
        return namespace == "simpipe-system"

    for namespace, expected in (("simpipe-system", b"echo:ping"), ("simpipe", b"")):
        route = Route("127.0.0.1", 0, "127.0.0.1", 0, namespace)
        assert await _through(route, services_only) == expected, namespace
    assert asked == [("127.0.0.1", "simpipe-system"), ("127.0.0.1", "simpipe")]
    # No way to ask: refused; a route for anyone is not asked about.
    assert await _through(Route("127.0.0.1", 0, "127.0.0.1", 0, "simpipe-system"), None) == b""
    assert await _through(Route("127.0.0.1", 0, "127.0.0.1", 0), None) == b"echo:ping"
