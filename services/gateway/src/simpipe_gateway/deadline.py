"""Every query and mutation has a deadline, and so has every call the gateway
makes to a service.

RequestDeadline (a schema extension) runs an operation's execution under
`request_timeout_seconds`: when that passes, the execution is cancelled (its
resolvers and their gRPC calls with it) and the operation ends with TIMEOUT.
A call to a service asks `call_timeout()` for its gRPC timeout: the time the
request has left, and never more than `rpc_timeout_seconds`. Subscriptions
last as long as their client wants; their calls still get the per-call bound.
"""

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

# The code of an operation or call that ran out of time.
TIMEOUT = "TIMEOUT"
# A call made outside any operation (tests calling resolvers directly) is
# still bounded.
DEFAULT_RPC_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Deadline:
    # Loop time by which the operation must end; None: no end (a subscription).
    ends_at: float | None
    rpc_timeout: float


_CURRENT: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)


def timed_out(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": TIMEOUT})


def call_timeout() -> float:
    """The gRPC timeout of a call made now."""
    deadline = _CURRENT.get()
    if deadline is None:
        return DEFAULT_RPC_TIMEOUT_SECONDS
    if deadline.ends_at is None:
        return deadline.rpc_timeout
    left = deadline.ends_at - asyncio.get_running_loop().time()
    if left <= 0:
        raise timed_out("the request ran out of time")
    return min(left, deadline.rpc_timeout)


class RequestDeadline(SchemaExtension):
    def __init__(self, request_seconds: float, rpc_seconds: float) -> None:
        self.request_seconds = request_seconds
        self.rpc_seconds = rpc_seconds

    async def on_execute(self) -> AsyncIterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            token = _CURRENT.set(Deadline(None, self.rpc_seconds))
            try:
                yield
            finally:
                _CURRENT.reset(token)
            return
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + self.request_seconds
        token = _CURRENT.set(Deadline(ends_at, self.rpc_seconds))
        try:
            async with asyncio.timeout_at(ends_at):
                yield
        except TimeoutError:
            raise timed_out(
                f"the request did not finish within {self.request_seconds:g} s"
            ) from None
        finally:
            _CURRENT.reset(token)
