from __future__ import annotations

import asyncio
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
