"""SIM-PIPE's typed client: `AsyncSimpipe` (async) and `Simpipe` (blocking),
generated from the gateway's GraphQL schema, with typed errors, file
transfers and subscriptions that survive a gateway restart. See the
package's README."""

from simpipe_client.client import AsyncSimpipe
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
from simpipe_client.responses import TERMINAL_PHASES
from simpipe_client.sync_client import Simpipe

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
