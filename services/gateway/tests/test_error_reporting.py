"""The client's mistakes are logged at info without a traceback; the
gateway's faults at error with one traceback, under a correlation id that
the client gets instead of any internals."""

from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from simpipe_common.errors import REASON_KEY, NotFoundError, UnavailableError
from simpipe_gateway.auth import Authenticator, Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.errors import from_rpc_error
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())


class Submitter:
    def __init__(self, failure: BaseException) -> None:
        self.failure = failure

    async def ListProjects(self, request: Any, **options: Any) -> Any:  # noqa: N802
        raise self.failure


def context(failure: BaseException) -> dict[str, Any]:
    authenticator = Authenticator(
        api_tokens={}, jwks=None, issuer="", audience="", user_claim="", dev_user=None
    )
    gateway = SimpleNamespace(submitter=Submitter(failure), authenticator=authenticator)
    return {"gateway": gateway, "caller": Caller("alice")}


async def run(
    query: str, failure: BaseException, variables: dict[str, Any] | None = None
) -> tuple[list[Any], list[Any]]:
    with capture_logs() as logs:
        result = await schema.execute(
            query, variable_values=variables, context_value=context(failure)
        )
    return [e.formatted for e in result.errors or []], logs


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("query", "failure", "code"),
    [
        ("{ projects { nope } }", RuntimeError(), "GRAPHQL_VALIDATION_FAILED"),
        ("{ projects { id }", RuntimeError(), "GRAPHQL_PARSE_FAILED"),
        (
            "{ " + " ".join(f"a{i}: ping" for i in range(31)) + " }",
            RuntimeError(),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "query($n: Int!) { ping }",
            RuntimeError(),
            "GRAPHQL_VALIDATION_FAILED",  # $n not given
        ),
        (
            # A value the TimeStamp scalar cannot read: graphql-core's coercion error.
            'query($t: TimeStamp) { dryRun(dryRunId: "r") { nodes { ... on DryRunNodePod'
            " { metrics { cpuUsageSecondsTotal(start: $t) { value } } } } } }",
            RuntimeError(),
            "INPUT_VALIDATION_ERROR",
        ),
        (
            "{ projects { id } }",
            rpc_error(grpc.StatusCode.NOT_FOUND, "no project p"),
            "NOT_FOUND_ERROR",
        ),
    ],
)
async def test_client_errors_are_info_without_traceback(
    query: str, failure: BaseException, code: str
) -> None:
    variables = {"t": True} if "TimeStamp" in query else None
    errors, logs = await run(query, failure, variables)
    assert [e["extensions"]["code"] for e in errors][:1] == [code]
    assert logs
    assert all(entry["log_level"] == "info" for entry in logs), logs
    assert not any("exc_info" in entry and entry["exc_info"] for entry in logs)


async def test_a_service_away_is_a_warning_and_names_no_address() -> None:
    failure = rpc_error(
        grpc.StatusCode.UNAVAILABLE,
        "failed to connect to all addresses; last error: ipv4:10.1.2.3:50051: Connection refused",
    )
    errors, logs = await run("{ projects { id } }", failure)
    assert errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "10.1.2.3" not in str(errors)
    assert {entry["log_level"] for entry in logs} == {"warning"}


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("secret-host.internal:5432 refused the password hunter2"),
        rpc_error(grpc.StatusCode.INTERNAL, "Traceback ... at secret-host.internal"),
    ],
    ids=["resolver", "service"],
)
async def test_faults_are_one_error_with_a_correlation_id_and_no_internals(
    failure: BaseException,
) -> None:
    errors, logs = await run("{ projects { id } }", failure)
    (error,) = errors
    correlation_id = error["extensions"]["correlationId"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["message"] == f"internal error (correlation id {correlation_id})"
    assert "secret-host" not in str(errors)
    (entry,) = logs
    assert (entry["log_level"], entry["correlation_id"]) == ("error", correlation_id)
    if isinstance(failure, RuntimeError):
        assert entry["exc_info"] is failure  # its one traceback


def test_typed_service_errors_keep_their_codes() -> None:
    from simpipe_gateway.errors import from_service_error

    assert from_service_error(NotFoundError("gone")).extensions == {"code": "NOT_FOUND_ERROR"}
    assert from_service_error(UnavailableError("later")).extensions == {
        "code": "SERVICE_UNAVAILABLE"
    }


CREATE_CREDENTIAL = """mutation($c: DockerRegistryCredentialInput!) {
  createDockerRegistryCredential(credential: $c) { name } }"""


@pytest.mark.parametrize(
    "given",
    [
        # An input object graphql-core refuses whole: it quotes all of it.
        {"name": "n", "username": "u", "password": "hunter2-secret", "server": "s", "x": 1},
        # A scalar of the wrong type: it quotes the value.
        {"name": "n", "username": "u", "password": 20240601123, "server": "s"},
    ],
    ids=["unknown-field", "not-a-string"],
)
async def test_a_variable_that_does_not_coerce_is_not_quoted_back(given: dict[str, Any]) -> None:
    errors, logs = await run(CREATE_CREDENTIAL, RuntimeError(), {"c": given})
    (error,) = errors
    assert error["extensions"]["code"] == "INPUT_VALIDATION_ERROR"
    assert error["message"].startswith("Variable '$c' has invalid value")
    assert error["message"].endswith("(not shown)")
    secret = str(given["password"])
    assert secret not in str(errors)
    assert secret not in str(logs)
    assert logs


def test_a_quota_refusal_says_so_and_keeps_the_services_words() -> None:
    trailers = grpc.aio.Metadata((REASON_KEY, "quota-exceeded"))
    exhausted = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), trailers, "you hold 50 of 50"
    )
    error = from_rpc_error(exhausted)
    assert (error.message, error.extensions) == ("you hold 50 of 50", {"code": "QUOTA_EXCEEDED"})
    # Without the reason, an exhausted service is an overloaded one.
    overloaded = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), grpc.aio.Metadata(), "queue full"
    )
    assert from_rpc_error(overloaded).extensions == {"code": "SERVICE_UNAVAILABLE"}


def test_a_step_log_that_cannot_be_read_is_a_conflict_in_the_watchers_words() -> None:
    unreadable = grpc.aio.AioRpcError(
        grpc.StatusCode.FAILED_PRECONDITION, grpc.aio.Metadata(),
        grpc.aio.Metadata((REASON_KEY, "logs-unavailable")),
        "the log of pod p cannot be read: HTTP 400: container main is waiting to start",
    )  # fmt: skip
    error = from_rpc_error(unreadable)
    assert error.extensions == {"code": "CONFLICT_ERROR"}
    assert error.message.endswith("container main is waiting to start")
