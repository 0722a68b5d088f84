"""`simpipe`'s exit codes, one per kind of outcome a script can act on."""

from __future__ import annotations

from enum import IntEnum

from simpipe_client import (
    ConflictError,
    ForbiddenError,
    GatewayUnavailableError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
    SimpipeError,
    UnauthenticatedError,
)


class ExitCode(IntEnum):
    OK = 0
    # The command worked, and what it followed did not succeed (a run failed).
    FAILED = 1
    # Bad input: usage, a file, a value the gateway refused.
    BAD_INPUT = 2
    NOT_FOUND = 3
    # No token, a revoked or expired one, or one that may not do this.
    DENIED = 4
    # The gateway or a service behind it cannot be reached: retry later.
    UNAVAILABLE = 5
    CONFLICT = 6


def exit_code_of(error: SimpipeError) -> ExitCode:
    if isinstance(error, InvalidInputError):
        return ExitCode.BAD_INPUT
    if isinstance(error, NotFoundError):
        return ExitCode.NOT_FOUND
    if isinstance(error, UnauthenticatedError | ForbiddenError):
        return ExitCode.DENIED
    if isinstance(error, GatewayUnavailableError | ServiceUnavailableError):
        return ExitCode.UNAVAILABLE
    if isinstance(error, ConflictError):
        return ExitCode.CONFLICT
    return ExitCode.FAILED
