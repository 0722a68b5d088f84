"""/asyncapi.json: the AsyncAPI document of SIM-PIPE's events, for tools that
subscribe to them (generated from events.proto by simpipe_events.asyncapi)."""

import json

from simpipe_common.http import Receive, Scope, Send, respond
from simpipe_events.asyncapi import document


class AsyncApiDocument:
    def __init__(self, server_url: str) -> None:
        # Made once: the contract does not change while the gateway runs.
        self._body = json.dumps(document(server_url), indent=2).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, "text/plain; charset=utf-8", b"GET only\n")
            return
        await respond(send, 200, "application/json", self._body)
