"""Forward chosen TCP ports from the real node's bridge address to the
loopback listeners of the stack: how pods reach the apiserver and S3.

Why a forwarder: pods cannot reach the host's 127.0.0.1, and the two
alternatives are worse. Binding the apiserver to the bridge breaks every
kubeconfig kwokctl writes (they name 127.0.0.1), and MinIO takes a single
listen address. DNAT to 127.0.0.1 needs route_localnet on the bridge, and
cannot serve the apiserver anyway: kube-proxy already DNATs the `kubernetes`
Service to the apiserver's advertised address, and a packet is DNATed once.
So the apiserver advertises the bridge address and this process listens
there, bytes in, bytes out (TLS stays end to end).

`python -m simpipe_devstack.pod_gateway LISTEN_HOST:PORT=TARGET_HOST:PORT ...`
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    listen_host: str
    listen_port: int
    target_host: str
    target_port: int

    @classmethod
    def parse(cls, text: str) -> Route:
        listen, sep, target = text.partition("=")
        if not sep:
            raise ValueError(f"{text!r}: expected LISTEN_HOST:PORT=TARGET_HOST:PORT")
        lhost, _, lport = listen.rpartition(":")
        thost, _, tport = target.rpartition(":")
        if not (lhost and thost and lport.isdigit() and tport.isdigit()):
            raise ValueError(f"{text!r}: expected LISTEN_HOST:PORT=TARGET_HOST:PORT")
        return cls(lhost, int(lport), thost, int(tport))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _forward(
    route: Route, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    try:
        target_reader, target_writer = await asyncio.open_connection(
            route.target_host, route.target_port
        )
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pipe(client_reader, target_writer), _pipe(target_reader, client_writer)
        )
    finally:
        for writer in (client_writer, target_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve(routes: list[Route], stop: asyncio.Event) -> None:
    servers = []
    for route in routes:

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, route: Route = route
        ) -> None:
            await _forward(route, r, w)

        servers.append(await asyncio.start_server(handle, route.listen_host, route.listen_port))
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()


def main(argv: list[str]) -> int:
    routes = [Route.parse(arg) for arg in argv]
    if not routes:
        print(__doc__, file=sys.stderr)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(routes, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
