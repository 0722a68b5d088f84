"""The GraphQL endpoint (HTTP and graphql-transport-ws) with its context."""

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from simpipe_common.http import respond
from simpipe_common.memory import DeferredTrim
from simpipe_gateway.auth import Authenticator
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.context import Gateway
from simpipe_gateway.run_feed import RunFeed
from simpipe_gateway.schema import schema

_ENCODER = msgspec.json.Encoder()

# Heap trims at most this often, this long after a query.
TRIM_DELAY_SECONDS = 2.0


class GraphQLApp(GraphQL[dict[str, Any], None]):
    def __init__(self, settings: GatewaySettings, run_feed: RunFeed) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self.settings = settings
        self.run_feed = run_feed
        # A query's result (a run's metrics: ~10^4 samples) leaves the heap
        # fragmented; a trim after each burst of queries hands the free pages
        # back between requests, never within one.
        self.trim = DeferredTrim(TRIM_DELAY_SECONDS)
        # Checked now, so a bad token list stops the start, not a request.
        self.authenticator = Authenticator.from_settings(settings)
        self._gateway: Gateway | None = None

    def encode_json(self, data: object) -> str:
        """Responses and subscription messages as JSON text (a websocket
        message must be a text frame), encoded by msgspec: the stdlib encoder
        took ~50-70 ms of a 100-step run's metrics. Unlike it, msgspec writes
        no bare NaN or Infinity (not JSON) and keeps non-ASCII text as UTF-8."""
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
                self.run_feed,
            )
        return self._gateway

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"request": request, "response": response, "gateway": self.gateway()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            refusal = self._body_refusal(dict(scope["headers"]))
            if refusal is not None:
                status, message = refusal
                error = {"message": message, "extensions": {"code": "INPUT_VALIDATION_ERROR"}}
                body = _ENCODER.encode({"data": None, "errors": [error]})
                await respond(send, status, "application/json", body)
                return
        try:
            await super().__call__(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.trim.request()

    def _body_refusal(self, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        """Bodies are bounded before anything reads them (documents travel in them)."""
        length = headers.get(b"content-length")
        if length is None or not length.isdigit():
            return 411, "send the request with a Content-Length"
        if int(length) > self.settings.max_query_bytes:
            return (
                413,
                f"the request is {int(length)} bytes; the limit is {self.settings.max_query_bytes}",
            )
        return None
