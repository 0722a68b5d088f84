"""The client's exceptions: one class per GraphQL error code the gateway
answers (`extensions.code`), so callers catch what they can act on, plus the
failures that never reach GraphQL (gateway unreachable, a file transfer)."""

from __future__ import annotations

from typing import Any, ClassVar


class SimpipeError(Exception):
    """Every error this client raises."""


class GatewayUnavailableError(SimpipeError):
    """The gateway could not be reached or answered no GraphQL (down,
    restarting, a proxy's error page)."""


def unreachable(url: str, error: BaseException) -> GatewayUnavailableError:
    """The gateway at `url` could not be reached (`error` says how)."""
    return GatewayUnavailableError(
        f"the gateway at {url} cannot be reached: {error or type(error).__name__}"
    )


class TransferError(SimpipeError):
    """A file's upload to or download from its presigned URL failed."""


class GraphQLError(SimpipeError):
    """The gateway answered with errors. `code` is the first error's
    `extensions.code`; `codes` and `errors` hold all of them."""

    # The codes a subclass stands for (GraphQLError itself: any other).
    CODES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        self.codes = [_code_of(error) for error in errors]
        self.code = self.codes[0] if self.codes else ""
        super().__init__(
            "; ".join(
                f"{code}: {error.get('message', '')}" if code else str(error.get("message", ""))
                for code, error in zip(self.codes, errors, strict=True)
            )
        )

    @property
    def message(self) -> str:
        """The first error's message, without its code."""
        return str(self.errors[0].get("message", "")) if self.errors else ""


class UnauthenticatedError(GraphQLError):
    """No token, or one the gateway does not know (revoked, expired)."""

    CODES = frozenset({"UNAUTHENTICATED"})


class ForbiddenError(GraphQLError):
    """The token's user may not do this."""

    CODES = frozenset({"FORBIDDEN"})


class NotFoundError(GraphQLError):
    """No such thing among the caller's (someone else's counts as none)."""

    CODES = frozenset({"NOT_FOUND_ERROR"})


class InvalidInputError(GraphQLError):
    """The request's input was refused: fix it, do not retry it."""

    CODES = frozenset(
        {
            "INPUT_VALIDATION_ERROR",
            "BAD_USER_INPUT",
            "GRAPHQL_VALIDATION_FAILED",
            "GRAPHQL_PARSE_FAILED",
            "QUERY_TOO_COMPLEX",
        }
    )


class ConflictError(GraphQLError):
    """It exists already (a name taken, a run that is not in that phase)."""

    CODES = frozenset({"CONFLICT_ERROR"})


class QuotaExceededError(GraphQLError):
    """The caller holds as many of these as one may."""

    CODES = frozenset({"QUOTA_EXCEEDED"})


class ServiceUnavailableError(GraphQLError):
    """A service behind the gateway is down or slow: worth retrying later."""

    CODES = frozenset({"SERVICE_UNAVAILABLE", "TIMEOUT"})


_BY_CODE: dict[str, type[GraphQLError]] = {
    code: cls
    for cls in (
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        InvalidInputError,
        ConflictError,
        QuotaExceededError,
        ServiceUnavailableError,
    )
    for code in cls.CODES
}


def _code_of(error: dict[str, Any]) -> str:
    extensions = error.get("extensions")
    return str(extensions.get("code", "")) if isinstance(extensions, dict) else ""


def graphql_error(errors: list[dict[str, Any]]) -> GraphQLError:
    """The exception for a response's `errors`: the class of its first code."""
    first = _code_of(errors[0]) if errors else ""
    return _BY_CODE.get(first, GraphQLError)(errors)


def not_found(message: str) -> NotFoundError:
    """A NotFoundError of the client's own (the gateway answered none)."""
    return NotFoundError([{"message": message, "extensions": {"code": "NOT_FOUND_ERROR"}}])
