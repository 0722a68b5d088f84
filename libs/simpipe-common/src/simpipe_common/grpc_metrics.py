"""Each gRPC method's calls and how long they took, for /metrics: a
histogram by method and outcome ("ok" when the behaviour returned, "error"
when it raised, a refusal or an abort included). Its _count is the
request rate, its buckets the latency."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import Histogram

from simpipe_common.grpc_callers import handler_parts

HANDLING = Histogram(
    "simpipe_grpc_server_handling_seconds",
    "gRPC calls this service answered, by method and outcome, and how long each took",
    ["method", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class CallMetrics(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return _timed(handler, handler_call_details.method)


def _timed(
    handler: grpc.RpcMethodHandler[Any, Any], method: str
) -> grpc.RpcMethodHandler[Any, Any]:
    behaviour, make = handler_parts(handler)
    timed: Any
    if inspect.isasyncgenfunction(behaviour):
        # A stream's call lasts until its last answer.
        async def streamed(request: Any, context: Any) -> AsyncIterator[Any]:
            started, outcome = time.perf_counter(), "error"
            try:
                async for answer in behaviour(request, context):
                    yield answer
                outcome = "ok"
            finally:
                HANDLING.labels(method, outcome).observe(time.perf_counter() - started)

        timed = streamed
    else:

        async def awaited(request: Any, context: Any) -> Any:
            started, outcome = time.perf_counter(), "error"
            try:
                answer = await behaviour(request, context)
                outcome = "ok"
                return answer
            finally:
                HANDLING.labels(method, outcome).observe(time.perf_counter() - started)

        timed = awaited
    return make(timed, handler.request_deserializer, handler.response_serializer)
