"""The GraphQL endpoint (HTTP and graphql-transport-ws) with its context."""

import asyncio
from typing import Any

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from simpipe_common.http import Message, respond
from simpipe_common.memory import DeferredTrim
from simpipe_gateway.access_tokens import AccessTokenStore
from simpipe_gateway.auth import Authenticator
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.context import Gateway
from simpipe_gateway.request_body import body_refusal
from simpipe_gateway.run_feed import RunFeed
from simpipe_gateway.schema import build_schema
from simpipe_gateway.simulation_feed import SimulationFeed

_ENCODER = msgspec.json.Encoder()
log = structlog.get_logger(__name__)

# Heap trims at most this often, this long after a query.
TRIM_DELAY_SECONDS = 2.0


class GraphQLApp(GraphQL[dict[str, Any], None]):
    def __init__(
        self,
        settings: GatewaySettings,
        run_feed: RunFeed,
        tokens: AccessTokenStore | None = None,
        simulation_feed: SimulationFeed | None = None,
    ) -> None:
        # GraphiQL (and introspection, in the schema) only where enabled.
        super().__init__(
            build_schema(settings), graphql_ide="graphiql" if settings.graphiql else None
        )
        self.settings = settings
        self.run_feed = run_feed
        # Made here when not given (tests of the app alone): it only registers
        # subscribers on the run feed's broker, which the app never starts.
        self.simulation_feed = simulation_feed or SimulationFeed(run_feed.events)
        # A query's result (a run's metrics: ~10^4 samples) leaves the heap
        # fragmented; a trim after each burst of queries hands the free pages
        # back between requests, never within one.
        self.trim = DeferredTrim(TRIM_DELAY_SECONDS)
        # Checked now, so a bad token list stops the start, not a request.
        self.authenticator = Authenticator.from_settings(settings, tokens)
        self._gateway: Gateway | None = None

    def encode_json(self, data: object) -> str:
        """Responses and subscription messages as JSON text (a websocket
        message must be a text frame), encoded by msgspec: the stdlib encoder
        was a large part of a 100-step run's metrics query. Unlike it,
        msgspec writes no bare NaN or Infinity (not JSON) and keeps non-ASCII
        text as UTF-8."""
        return _ENCODER.encode(data).decode()

    def gateway(self) -> Gateway:
        # gRPC aio channels belong to the running event loop: made on first use.
        if self._gateway is None:
            self._gateway = Gateway.connect(
                self.authenticator,
                self.settings.workflow_submitter_addr,
                self.settings.argo_watcher_addr,
                self.settings.storage_broker_addr,
                self.settings.metrics_collector_addr,
                self.settings.kwok_scaler_addr,
                self.run_feed,
                self.simulation_feed,
                self.settings,
                self.settings.energy_model(),
            )
        return self._gateway

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"request": request, "response": response, "gateway": self.gateway()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            # Documents travel in bodies.
            refusal = body_refusal(dict(scope["headers"]), self.settings.max_query_bytes)
            if refusal is not None:
                status, message = refusal
                error = {"message": message, "extensions": {"code": "INPUT_VALIDATION_ERROR"}}
                body = _ENCODER.encode({"data": None, "errors": [error]})
                await respond(send, status, "application/json", body)
                return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            await self._until_done_or_gone(scope, receive, send)
        finally:
            self.trim.request()

    async def _until_done_or_gone(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves one HTTP request, cancelled (its calls to the services with
        it) if the client goes away first: uvicorn only tells, through
        `receive`, once the body has been read."""
        body_read = asyncio.Event()
        answered = asyncio.Event()

        async def body() -> Message:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                body_read.set()
            return message

        async def respond_(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()

        async def client_gone() -> None:
            await body_read.wait()
            while (await receive())["type"] != "http.disconnect":
                pass

        serving = asyncio.create_task(super().__call__(scope, body, respond_))
        watching = asyncio.create_task(client_gone())
        try:
            await asyncio.wait((serving, watching), return_when=asyncio.FIRST_COMPLETED)
            if not serving.done() and not answered.is_set():
                log.info("client went away; request cancelled")
                serving.cancel()
            await asyncio.wait((serving,))
            if not serving.cancelled():
                serving.result()  # the app's own failure, if any
        finally:
            watching.cancel()
            serving.cancel()
