"""What the async and the sync client make of the gateway's answers."""

from __future__ import annotations

from typing import Any, Protocol

from simpipe_client.errors import GatewayUnavailableError, SimpipeError, graphql_error

DEFAULT_TIMEOUT = 30.0
DEFAULT_RECONNECT_SECONDS = 60.0
# The phases after which a run changes no more (the event contract's terminal ones).
TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})


# A simulation's (the contract's terminal simulation phases).
TERMINAL_SIMULATION_PHASES = frozenset({"Succeeded", "Failed", "Cancelled", "Error"})


def terminal(phase: str) -> bool:
    return phase in TERMINAL_PHASES


class Answer(Protocol):
    """An HTTP response, as httpx's (sync or async) and the generated base type it."""

    status_code: int

    def json(self, **kwargs: Any) -> Any: ...


def data_of_response(response: Answer, url: str) -> dict[str, Any]:
    """The data of a GraphQL response; the typed error when it carries errors,
    GatewayUnavailableError when it is no GraphQL answer at all."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("errors"):
        raise graphql_error(body["errors"])
    if response.status_code >= 500 or not isinstance(body, dict):
        raise GatewayUnavailableError(
            f"the gateway at {url} answered HTTP {response.status_code}, not GraphQL"
        )
    if not 200 <= response.status_code <= 299 or not isinstance(body.get("data"), dict):
        raise SimpipeError(f"the gateway at {url} answered HTTP {response.status_code}")
    data: dict[str, Any] = body["data"]
    return data
