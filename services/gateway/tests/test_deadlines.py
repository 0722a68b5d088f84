"""Every request ends: at its deadline, when its client goes away, or when
the gateway shuts down; its calls to the services are cancelled with it.
The services here are an in-process gRPC server whose GetDryRun never
answers (it only notes that it was called and when it was cancelled)."""

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import websockets
from websockets.typing import Subprotocol

from simpipe.v1 import argo_watcher_pb2, argo_watcher_pb2_grpc, dry_runs_pb2
from simpipe_common.event_broker import EventBroker
from simpipe_common.testing import UNREACHABLE_ENV, service_process
from simpipe_gateway.app import GraphQLApp
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_feed import RunFeed

TOKEN = "test-token-0123456789abcdef"
QUERY = '{ dryRun(dryRunId: "r") { id } }'


@dataclass
class SilentWatcher(argo_watcher_pb2_grpc.ArgoWatcherServicer):
    called: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def GetDryRun(  # noqa: N802
        self, request: argo_watcher_pb2.GetDryRunRequest, context: Any
    ) -> dry_runs_pb2.DryRun:
        self.called.set()
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


@pytest.fixture
async def watcher() -> AsyncIterator[tuple[SilentWatcher, str]]:
    servicer = SilentWatcher()  # type: ignore[abstract]
    server = grpc.aio.server()
    argo_watcher_pb2_grpc.add_ArgoWatcherServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, f"127.0.0.1:{port}"
    await server.stop(None)


def app(address: str, **settings: Any) -> GraphQLApp:
    config = GatewaySettings(
        api_tokens=f"{TOKEN}=alice",
        argo_watcher_addr=address,
        mesh_insecure=True,
        **settings,
    )
    return GraphQLApp(config, RunFeed(EventBroker(config, "gateway")))


async def post(application: GraphQLApp, query: str) -> dict[str, Any]:
    import httpx

    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    "limits",
    [
        # Either deadline alone ends it: the other is out of the test's reach.
        {"request_timeout_seconds": 0.5, "rpc_timeout_seconds": 600},
        {"request_timeout_seconds": 600, "rpc_timeout_seconds": 0.5},
    ],
)
async def test_a_service_that_never_answers_ends_the_request_as_timeout(
    watcher: tuple[SilentWatcher, str], limits: dict[str, float]
) -> None:
    servicer, address = watcher
    body = await post(app(address, **limits), QUERY)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"]
    # The call was cancelled on the service's side too, not left running.
    await asyncio.wait_for(servicer.cancelled.wait(), 10)


async def test_a_client_that_goes_away_cancels_its_request(
    watcher: tuple[SilentWatcher, str],
) -> None:
    servicer, address = watcher
    application = app(address, request_timeout_seconds=60)
    body = json.dumps({"query": QUERY}).encode()
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await servicer.called.wait()  # the request is at the service: the client hangs up
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/graphql", "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
            (b"authorization", f"Bearer {TOKEN}".encode()),
        ],
    }  # fmt: skip
    await asyncio.wait_for(application(scope, receive, send), 10)  # type: ignore[arg-type]
    await asyncio.wait_for(servicer.cancelled.wait(), 10)
    assert sent == []  # nobody to answer


def gateway_env(address: str, **extra: str) -> dict[str, str]:
    return {
        **UNREACHABLE_ENV,
        "SIMPIPE_MESH_INSECURE": "true",
        "SIMPIPE_API_TOKENS": f"{TOKEN}=alice",
        "SIMPIPE_ARGO_WATCHER_ADDR": address,
        "SIMPIPE_REQUEST_TIMEOUT_SECONDS": "600",
        "SIMPIPE_RPC_TIMEOUT_SECONDS": "600",
        **extra,
    }


async def test_a_closed_websocket_cancels_its_operations(
    watcher: tuple[SilentWatcher, str],
) -> None:
    servicer, address = watcher
    async with service_process("simpipe_gateway", env=gateway_env(address)) as service:
        url = f"ws://127.0.0.1:{service.http_port}/graphql"
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as socket:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {TOKEN}"}}
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            query = {"id": "1", "type": "subscribe", "payload": {"query": QUERY}}
            await socket.send(json.dumps(query))
            await asyncio.wait_for(servicer.called.wait(), 10)
        await asyncio.wait_for(servicer.cancelled.wait(), 10)
        assert await service.terminate() == 0


async def test_shutdown_cancels_what_is_in_flight_after_the_grace_period(
    watcher: tuple[SilentWatcher, str],
) -> None:
    servicer, address = watcher
    env = gateway_env(address, SIMPIPE_SHUTDOWN_GRACE_SECONDS="1")
    async with service_process("simpipe_gateway", env=env) as service:
        request = asyncio.create_task(
            service.http_request(
                "/graphql",
                json_body={"query": QUERY},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        )
        await asyncio.wait_for(servicer.called.wait(), 10)
        service.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.process.wait(), 20) == 0
        await asyncio.wait_for(servicer.cancelled.wait(), 10)
        request.cancel()
