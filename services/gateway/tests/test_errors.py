"""rpc_or_none: NOT_FOUND is None, any other failure a typed GraphQL error."""

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from graphql import GraphQLError

from simpipe_gateway.errors import rpc_or_none


def failing(code: grpc.StatusCode) -> Callable[..., Awaitable[str]]:
    async def method(request: str, **options: Any) -> str:
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "no such thing")

    return method


async def test_not_found_is_none_and_other_failures_are_graphql_errors() -> None:
    async def found(request: str, **options: Any) -> str:
        return request.upper()

    assert await rpc_or_none(found, "x") == "X"
    assert await rpc_or_none(failing(grpc.StatusCode.NOT_FOUND), "x") is None
    with pytest.raises(GraphQLError) as caught:
        await rpc_or_none(failing(grpc.StatusCode.PERMISSION_DENIED), "x")
    assert caught.value.extensions == {"code": "FORBIDDEN"}
