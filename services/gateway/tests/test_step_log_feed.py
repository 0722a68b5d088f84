"""A followed step log through the gateway: the watcher's stream passed on
batch by batch to the caller, its refusals typed, maxLines bounded."""

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest

from simpipe.v1 import argo_watcher_pb2 as pb
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
FOLLOW = """subscription($max: Int) {
  dryRunStepLog(dryRunId: "r1", nodeId: "r1-123", maxLines: $max) { lines } }"""


class Stream:
    def __init__(self, batches: list[list[str]], refusal: grpc.StatusCode | None) -> None:
        self.batches = batches
        self.refusal = refusal
        self.cancelled = False

    def __aiter__(self) -> AsyncIterator[pb.GetStepLogResponse]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[pb.GetStepLogResponse]:
        for lines in self.batches:
            yield pb.GetStepLogResponse(lines=lines)
        if self.refusal is not None:
            raise grpc.aio.AioRpcError(
                self.refusal, grpc.aio.Metadata(), grpc.aio.Metadata(), "dry run r1 not found"
            )

    def cancel(self) -> None:
        self.cancelled = True


class Watcher:
    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.asked: list[pb.GetStepLogRequest] = []

    def FollowStepLog(self, request: pb.GetStepLogRequest, **_: Any) -> Stream:  # noqa: N802
        self.asked.append(request)
        return self.stream


class Authenticated:
    def still_valid(self, caller: Caller) -> bool:
        return True


async def results(watcher: Watcher, **variables: Any) -> list[Any]:
    gateway = SimpleNamespace(watcher=watcher, authenticator=Authenticated())
    found = await schema.subscribe(
        FOLLOW, context_value={"gateway": gateway, "caller": Caller("alice")},
        variable_values=variables,
    )  # fmt: skip
    if hasattr(found, "errors"):
        return [found]
    collected = []
    async with asyncio.timeout(5):
        async for result in cast("AsyncIterator[Any]", found):
            collected.append(result)
    return collected


async def test_batches_reach_the_caller_in_order_and_the_stream_is_let_go() -> None:
    stream = Stream([["a", "b"], ["c"]], None)
    watcher = Watcher(stream)
    found = await results(watcher, max=0)
    assert [r.data["dryRunStepLog"]["lines"] for r in found] == [["a", "b"], ["c"]]
    [asked] = watcher.asked
    assert (asked.caller, asked.dry_run_id, asked.node_id, asked.max_lines) == (
        "alice", "r1", "r1-123", 0)  # fmt: skip
    assert stream.cancelled


async def test_a_refusal_of_the_watcher_is_typed() -> None:
    found = await results(Watcher(Stream([], grpc.StatusCode.NOT_FOUND)))
    assert [e.extensions["code"] for e in found[-1].errors] == ["NOT_FOUND_ERROR"]


@pytest.mark.parametrize("bad", [-1, 10_001])
async def test_max_lines_is_bounded(bad: int) -> None:
    watcher = Watcher(Stream([["x"]], None))
    found = await results(watcher, max=bad)
    assert found[0].errors[0].extensions["code"] == "INPUT_VALIDATION_ERROR"
    assert watcher.asked == []
