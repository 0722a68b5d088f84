"""Calls to the other services of the mesh: their typed answers pass on
with the same code and reason; anything else is UNAVAILABLE."""

from collections.abc import Awaitable
from typing import TypeVar

import grpc

from simpipe_common.errors import (
    REASON_KEY,
    ConflictError,
    FailedPreconditionError,
    InvalidArgoDocumentError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    UnavailableError,
)

T = TypeVar("T")

_PASSED_ON: dict[grpc.StatusCode, type[ServiceError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInputError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: ConflictError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
}


def _reason(error: grpc.aio.AioRpcError) -> str | None:
    for key, value in error.trailing_metadata() or ():
        if key == REASON_KEY and isinstance(value, str):
            return value
    return None


async def called(what: str, call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        kind = _PASSED_ON.get(error.code())
        reason = _reason(error)
        if kind is not None:
            if reason == "invalid-argo-workflow":
                raise InvalidArgoDocumentError(f"{what}: {error.details()}") from None
            raise kind(f"{what}: {error.details()}", reason) from None
        raise UnavailableError(
            f"{what}: the service did not answer ({error.code().name} {error.details()})"
        ) from None
