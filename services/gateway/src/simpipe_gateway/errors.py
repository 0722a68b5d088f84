"""gRPC statuses from the services become GraphQL errors carrying the
original SIM-PIPE API's codes in `extensions.code`."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from graphql import GraphQLError

from simpipe_common.errors import REASON_KEY, ServiceError

Request = TypeVar("Request")
Response = TypeVar("Response")

_BY_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: "INPUT_VALIDATION_ERROR",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND_ERROR",
    grpc.StatusCode.ALREADY_EXISTS: "CONFLICT_ERROR",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "FORBIDDEN",
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "SERVICE_UNAVAILABLE",
}
_BY_REASON = {
    "invalid-argo-workflow": "INVALID_ARGO_WORKFLOW_ERROR",
    "invalid-argo-workflow-template": "INVALID_ARGO_WORKFLOW_TEMPLATE_ERROR",
    # Deleting a bucket that still holds objects: in the way of the request,
    # like a conflict in the original API.
    "bucket-not-empty": "CONFLICT_ERROR",
}


def graphql_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def from_service_error(error: ServiceError) -> GraphQLError:
    code = _BY_REASON.get(error.reason) or _BY_STATUS.get(error.code, "INTERNAL_SERVER_ERROR")
    return graphql_error(error.message, code)


def from_rpc_error(error: grpc.aio.AioRpcError) -> GraphQLError:
    reason = dict(error.trailing_metadata() or ()).get(REASON_KEY, "")
    code = _BY_REASON.get(str(reason)) or _BY_STATUS.get(error.code())
    if code is None:
        return graphql_error("internal error in a SIM-PIPE service", "INTERNAL_SERVER_ERROR")
    return graphql_error(error.details() or code, code)


async def rpc(method: Callable[[Request], Awaitable[Response]], request: Request) -> Response:
    """Call a service; its typed failure surfaces as a typed GraphQL error."""
    try:
        return await method(request)
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None


async def rpc_or_none(
    method: Callable[[Request], Awaitable[Response]], request: Request
) -> Response | None:
    """rpc for what may not exist (yet): NOT_FOUND is None, not an error."""
    try:
        return await method(request)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise from_rpc_error(error) from None
