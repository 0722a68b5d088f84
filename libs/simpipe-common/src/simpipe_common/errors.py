"""Typed errors of the mesh, and how they cross gRPC.

A service raises one of these; its servicer turns it into a gRPC status with
the same code and message, plus a machine-readable reason in the trailing
metadata (`simpipe-reason`), which the gateway maps to the GraphQL error
codes of the original SIM-PIPE API.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc

REASON_KEY = "simpipe-reason"


class ServiceError(Exception):
    code = grpc.StatusCode.INTERNAL
    reason = "internal"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidInputError(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "input-validation"


class NotFoundError(ServiceError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "not-found"


class ConflictError(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "conflict"


class PermissionDeniedError(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "permission-denied"


class FailedPreconditionError(ServiceError):
    """The request is valid but the state it acts on does not allow it
    (e.g. deleting a bucket that still holds objects)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "failed-precondition"


class InvalidArgoDocumentError(ServiceError):
    """Argo (or our checks before it) rejected a Workflow or WorkflowTemplate."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "invalid-argo-workflow"


class UnauthenticatedError(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "unauthenticated"


class UnavailableError(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "unavailable"


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: ServiceError) -> NoReturn:
    context.set_trailing_metadata(((REASON_KEY, error.reason),))
    await context.abort(error.code, error.message)


Self = TypeVar("Self")
Request = TypeVar("Request")
Response = TypeVar("Response")
Context = grpc.aio.ServicerContext[Any, Any]


def typed_errors(
    method: Callable[[Self, Request, Context], Awaitable[Response]],
) -> Callable[[Self, Request, Context], Awaitable[Response]]:
    """Wraps a unary servicer method: a ServiceError becomes its gRPC status."""

    @functools.wraps(method)
    async def wrapper(self: Self, request: Request, context: Context) -> Response:
        try:
            return await method(self, request, context)
        except ServiceError as error:
            await abort(context, error)

    return wrapper


class StartupError(Exception):
    """A service cannot start, for a reason its message explains in full: the
    runner logs it without a traceback and the process exits 2."""
