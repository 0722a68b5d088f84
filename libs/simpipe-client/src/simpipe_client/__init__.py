"""SIM-PIPE's typed client: `AsyncSimpipe` (async) and `Simpipe` (blocking),
generated from the gateway's GraphQL schema, with typed errors, file
transfers and subscriptions that survive a gateway restart. See the
package's README."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simpipe_client.errors import (
    ConflictError,
    ForbiddenError,
    GatewayUnavailableError,
    GraphQLError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    ServiceUnavailableError,
    SimpipeError,
    TransferError,
    UnauthenticatedError,
)

if TYPE_CHECKING:
    from simpipe_client.client import AsyncSimpipe
    from simpipe_client.responses import TERMINAL_PHASES
    from simpipe_client.sync_client import Simpipe

# The clients load pydantic and every generated model: imported when first
# named, so a program that only catches this package's errors (a CLI's
# --help) starts without them.
_LAZY = {
    "AsyncSimpipe": "simpipe_client.client",
    "Simpipe": "simpipe_client.sync_client",
    "TERMINAL_PHASES": "simpipe_client.responses",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simpipe_client' has no attribute {name!r}")


__all__ = [
    "TERMINAL_PHASES",
    "AsyncSimpipe",
    "ConflictError",
    "ForbiddenError",
    "GatewayUnavailableError",
    "GraphQLError",
    "InvalidInputError",
    "NotFoundError",
    "QuotaExceededError",
    "ServiceUnavailableError",
    "Simpipe",
    "SimpipeError",
    "TransferError",
    "UnauthenticatedError",
]
