"""gRPC statuses from the services become GraphQL errors carrying the
original SIM-PIPE API's codes in `extensions.code`; what is no client's
business (a service's internals, its address) stays in the gateway's log."""

import uuid
from collections.abc import Awaitable
from typing import Protocol, TypeVar

import grpc
import structlog
from graphql import GraphQLError

from simpipe_common.errors import REASON_KEY, ServiceError
from simpipe_gateway.deadline import TIMEOUT, call_timeout

log = structlog.get_logger(__name__)

RequestT = TypeVar("RequestT", contravariant=True)
ResponseT = TypeVar("ResponseT", covariant=True)
Request = TypeVar("Request")
Response = TypeVar("Response")

# Codes of the gateway's own, beside the original API's.
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# The caller holds as many of a thing as one may (registry credentials,
# virtual clusters): theirs to fix, not a fault to retry.
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

_BY_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: "INPUT_VALIDATION_ERROR",
    grpc.StatusCode.OUT_OF_RANGE: "INPUT_VALIDATION_ERROR",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND_ERROR",
    grpc.StatusCode.ALREADY_EXISTS: "CONFLICT_ERROR",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "FORBIDDEN",
    grpc.StatusCode.UNAVAILABLE: SERVICE_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: TIMEOUT,
    grpc.StatusCode.RESOURCE_EXHAUSTED: SERVICE_UNAVAILABLE,
}
_BY_REASON = {
    "invalid-argo-workflow": "INVALID_ARGO_WORKFLOW_ERROR",
    "invalid-argo-workflow-template": "INVALID_ARGO_WORKFLOW_TEMPLATE_ERROR",
    # Deleting a bucket that still holds objects: in the way of the request,
    # like a conflict in the original API.
    "bucket-not-empty": "CONFLICT_ERROR",
    # A virtual cluster that unfinished runs are placed on (kwok-scaler).
    "virtual-cluster-in-use": "CONFLICT_ERROR",
    # simpipe_common's FailedPreconditionError without a reason of its own:
    # the request is valid, the state it acts on does not allow it.
    "failed-precondition": "CONFLICT_ERROR",
    "quota-exceeded": QUOTA_EXCEEDED,
    # A step whose log cannot be read yet or at all (its container waits to
    # start; KWOK's simulated nodes keep no logs): the watcher says which.
    "logs-unavailable": "CONFLICT_ERROR",
}
# What gRPC itself writes for these (addresses, connection failures) is the
# gateway's to know: the client is told this instead.
_OWN_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "a SIM-PIPE service is unavailable; try again",
    grpc.StatusCode.DEADLINE_EXCEEDED: "a SIM-PIPE service did not answer in time",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "a SIM-PIPE service is overloaded; try again",
}


class UnaryCall(Protocol[RequestT, ResponseT]):
    """A unary method of a gRPC stub on an aio channel."""

    def __call__(
        self, request: RequestT, *, timeout: float | None = None
    ) -> Awaitable[ResponseT]: ...


def graphql_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def internal_error(cause: str, error: BaseException | None = None) -> GraphQLError:
    """A server fault: logged once at error level (with its traceback when
    there is one) under a correlation id; the client learns only the id."""
    correlation_id = uuid.uuid4().hex[:16]
    log.error("internal error", cause=cause, correlation_id=correlation_id, exc_info=error)
    return GraphQLError(
        f"internal error (correlation id {correlation_id})",
        extensions={"code": INTERNAL, "correlationId": correlation_id},
    )


def from_service_error(error: ServiceError) -> GraphQLError:
    code = _BY_REASON.get(error.reason) or _BY_STATUS.get(error.code)
    if code is None:
        return internal_error(f"{type(error).__name__}: {error.message}", error)
    return graphql_error(error.message, code)


def from_rpc_error(error: grpc.aio.AioRpcError) -> GraphQLError:
    status = error.code()
    reason = dict(error.trailing_metadata() or ()).get(REASON_KEY, "")
    code = _BY_REASON.get(str(reason)) or _BY_STATUS.get(status)
    if code is None:
        return internal_error(f"a service answered {status.name}: {error.details()}")
    # A service's own refusal says what to do; gRPC's own words for the
    # status (an overloaded server) would not.
    own = None if reason in _BY_REASON else _OWN_MESSAGES.get(status)
    if own is not None:
        log.warning("service call failed", status=status.name, details=error.details())
        return graphql_error(own, code)
    return graphql_error(error.details() or code, code)


async def rpc(method: UnaryCall[Request, Response], request: Request) -> Response:
    """Call a service within the request's deadline (simpipe_gateway.deadline);
    its typed failure surfaces as a typed GraphQL error."""
    try:
        return await method(request, timeout=call_timeout())
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None


async def rpc_or_none(method: UnaryCall[Request, Response], request: Request) -> Response | None:
    """rpc for what may not exist (yet): NOT_FOUND is None, not an error."""
    try:
        return await method(request, timeout=call_timeout())
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise from_rpc_error(error) from None
