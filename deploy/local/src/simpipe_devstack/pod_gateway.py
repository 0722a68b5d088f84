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

A route may be for one namespace's pods only (`...@NAMESPACE`): NATS, the
Argo server and Prometheus are for the services' pods (`make up
MODE=cluster`), never for workflows'. Such a route asks the apiserver
whether the peer's address is a pod of that namespace and closes the
connection at once, before a byte, if it is not. The local pod network
enforces no NetworkPolicy; a cluster's CNI does this there.

`python -m simpipe_devstack.pod_gateway [--kubeconfig PATH] LISTEN_HOST:PORT=TARGET_HOST:PORT[@NAMESPACE] ...`
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    listen_host: str
    listen_port: int
    target_host: str
    target_port: int
    # Only pods of this namespace may connect ("": anyone on the pod network).
    only_from: str = ""

    @classmethod
    def parse(cls, text: str) -> Route:
        route, _, only_from = text.partition("@")
        listen, sep, target = route.partition("=")
        if not sep:
            raise ValueError(f"{text!r}: expected LISTEN_HOST:PORT=TARGET_HOST:PORT[@NAMESPACE]")
        lhost, _, lport = listen.rpartition(":")
        thost, _, tport = target.rpartition(":")
        if not (lhost and thost and lport.isdigit() and tport.isdigit()):
            raise ValueError(f"{text!r}: expected LISTEN_HOST:PORT=TARGET_HOST:PORT")
        return cls(lhost, int(lport), thost, int(tport), only_from)


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


# Whether an address is a pod of a namespace.
PodCheck = Callable[[str, str], Awaitable[bool]]


async def serve(
    routes: list[Route], stop: asyncio.Event, is_pod_of: PodCheck | None = None
) -> None:
    servers = []
    for route in routes:

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, route: Route = route
        ) -> None:
            if route.only_from:
                peer = w.get_extra_info("peername")
                allowed = is_pod_of is not None and bool(peer)
                if allowed and is_pod_of is not None:
                    allowed = await is_pod_of(str(peer[0]), route.only_from)
                if not allowed:
                    w.close()
                    return
            await _forward(route, r, w)

        servers.append(await asyncio.start_server(handle, route.listen_host, route.listen_port))
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()


class ApiserverPodCheck:
    """Asks the apiserver which pod has an address. A yes is kept a few
    seconds (a deleted pod's address is given out again only later); a no
    for one second only: a pod starting may connect before the kubelet has
    told the apiserver its address."""

    ttl = 5.0
    ttl_refused = 1.0

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        self._core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}

    def _ask(self, address: str, namespace: str) -> bool:
        pods = self._core.list_namespaced_pod(
            namespace, field_selector=f"status.podIP={address}", limit=1, _request_timeout=5
        )
        return bool(pods.items)

    async def __call__(self, address: str, namespace: str) -> bool:
        key = (address, namespace)
        known = self._known.get(key)
        if known and known[1] > time.monotonic():
            return known[0]
        try:
            answer = await asyncio.to_thread(self._ask, address, namespace)
        except Exception:
            return False
        self._known[key] = (answer, time.monotonic() + (self.ttl if answer else self.ttl_refused))
        return answer


def main(argv: list[str]) -> int:
    kubeconfig = ""
    if argv[:1] == ["--kubeconfig"] and len(argv) > 1:
        kubeconfig, argv = argv[1], argv[2:]
    routes = [Route.parse(arg) for arg in argv]
    if not routes:
        print(__doc__, file=sys.stderr)
        return 2
    if any(r.only_from for r in routes) and not kubeconfig:
        print("a route for one namespace's pods needs --kubeconfig", file=sys.stderr)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(routes, stop, ApiserverPodCheck(kubeconfig) if kubeconfig else None)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
