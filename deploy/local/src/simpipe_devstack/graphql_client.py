"""A small client of the gateway's GraphQL API: queries over HTTP and
subscriptions over graphql-transport-ws. Used by `make demo`, the tests and
the benchmarks, the way any other tool would talk to SIM-PIPE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

from simpipe_devstack.runs import TERMINAL_PHASES


class GraphQLError(RuntimeError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        self.codes = [e.get("extensions", {}).get("code", "") for e in errors]
        super().__init__(
            "; ".join(f"{c}: {e.get('message')}" for c, e in zip(self.codes, errors, strict=True))
        )


class GraphQLClient:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token
        self.http = httpx.AsyncClient(timeout=30.0)

    def headers(self) -> dict[str, str]:
        """The Authorization header of this client's token, if it has one."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """The response's data; raises GraphQLError when it has errors."""
        response = await self.http.post(
            self.url, json={"query": query, "variables": variables}, headers=self.headers()
        )
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    async def finished_dry_run(
        self, query: str, dry_run_id: str, seconds: float, interval: float = 2.0
    ) -> dict[str, Any]:
        """Polls `query` (taking `$id`, selecting `dryRun { status { phase } }`)
        every `interval` seconds until the dry run has ended; its `dryRun`.
        TimeoutError after `seconds`."""
        async with asyncio.timeout(seconds):
            while True:
                run: dict[str, Any] = (await self.execute(query, id=dry_run_id))["dryRun"]
                if run["status"]["phase"] in TERMINAL_PHASES:
                    return run
                await asyncio.sleep(interval)

    async def subscribe(self, query: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        """Each `next` payload's data, until the server completes the subscription."""
        ws_url = "ws" + self.url.removeprefix("http")
        async with websockets.connect(
            ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": self.headers()}))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise GraphQLError([{"message": f"connection refused: {ack}"}])
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables},
                    }
                )
            )
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        raise GraphQLError(payload["errors"])
                    yield payload["data"]
                elif kind == "error":
                    raise GraphQLError(message["payload"])
                elif kind == "complete":
                    return
                elif kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))

    async def close(self) -> None:
        await self.http.aclose()
