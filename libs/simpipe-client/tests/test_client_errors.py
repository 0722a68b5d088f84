"""The client's answers to what the gateway says: typed errors by code, and
no GraphQL at all as the gateway being unavailable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simpipe.v1 import events_pb2
from simpipe_client import (
    ConflictError,
    GatewayUnavailableError,
    GraphQLError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
    SimpipeError,
    UnauthenticatedError,
)
from simpipe_client.errors import graphql_error
from simpipe_client.responses import (
    TERMINAL_PHASES,
    TERMINAL_SIMULATION_PHASES,
    data_of_response,
)
from simpipe_events import contract


def error(code: str | None, message: str = "m") -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}} if code else {"message": message}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("NOT_FOUND_ERROR", NotFoundError),
        ("UNAUTHENTICATED", UnauthenticatedError),
        ("INPUT_VALIDATION_ERROR", InvalidInputError),
        ("GRAPHQL_VALIDATION_FAILED", InvalidInputError),
        ("CONFLICT_ERROR", ConflictError),
        ("SERVICE_UNAVAILABLE", ServiceUnavailableError),
        ("INTERNAL_SERVER_ERROR", GraphQLError),
        (None, GraphQLError),
    ],
)
def test_each_code_has_its_exception(code: str | None, kind: type[GraphQLError]) -> None:
    raised = graphql_error([error(code, "what happened"), error("OTHER")])
    assert type(raised) is kind
    assert raised.code == (code or "")
    assert raised.codes == [code or "", "OTHER"]
    assert raised.message == "what happened"


def response(status: int, body: Any) -> httpx.Response:
    return (
        httpx.Response(status, json=body)
        if body is not None
        else httpx.Response(status, text="<html>")
    )


def test_data_is_answered_and_errors_raise_even_with_an_http_error_status() -> None:
    assert data_of_response(response(200, {"data": {"a": 1}}), "u") == {"a": 1}
    with pytest.raises(UnauthenticatedError):
        data_of_response(response(401, {"errors": [error("UNAUTHENTICATED")]}), "u")


@pytest.mark.parametrize(("status", "body"), [(502, None), (503, {"detail": "x"}), (200, None)])
def test_no_graphql_answer_is_the_gateway_unavailable(status: int, body: Any) -> None:
    with pytest.raises(GatewayUnavailableError, match=f"HTTP {status}"):
        data_of_response(response(status, body), "http://gw/graphql")


def test_a_client_error_without_graphql_errors_is_still_a_simpipe_error() -> None:
    with pytest.raises(SimpipeError, match="HTTP 413"):
        data_of_response(response(413, {"detail": "too large"}), "u")


def test_terminal_phases_are_the_event_contracts() -> None:
    assert {contract.run_phase_name(p) for p in contract.TERMINAL_RUN_PHASES} == TERMINAL_PHASES
    simulation = events_pb2.SimulationPhase
    assert {
        simulation.Name(p).removeprefix("SIMULATION_PHASE_").capitalize()  # type: ignore[arg-type]
        for p in contract.TERMINAL_SIMULATION_PHASES
    } == TERMINAL_SIMULATION_PHASES
