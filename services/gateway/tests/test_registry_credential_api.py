"""Registry credentials through the gateway's schema, on a fake
workflow-submitter that keeps them per caller as the real one answers
(names unique per caller, NOT_FOUND for anyone else's, typed refusals):
the original GUI's operations and shapes, and no password in any answer."""

from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from simpipe.v1 import workflow_submitter_pb2 as pb
from simpipe_common.errors import REASON_KEY
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.registry_credential_api import DockerRegistryCredentialInput
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
ALICE, BOB = "alice@example.org", "bob@example.org"
PASSWORD = "hunter2-not-for-answers"


def refused(code: grpc.StatusCode, details: str, reason: str = "") -> grpc.aio.AioRpcError:
    trailers = grpc.aio.Metadata((REASON_KEY, reason)) if reason else grpc.aio.Metadata()
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers, details)


class Submitter:
    """Credentials by (caller, name), passwords kept to check they went in."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], pb.RegistryCredentialRequest] = {}
        self.timeouts: list[float | None] = []

    def _answer(self, request: pb.RegistryCredentialRequest) -> pb.RegistryCredential:
        return pb.RegistryCredential(
            name=request.name, server=request.server, username=request.username
        )

    async def ListRegistryCredentials(  # noqa: N802
        self, request: pb.ListRegistryCredentialsRequest, **options: Any
    ) -> pb.ListRegistryCredentialsResponse:
        self.timeouts.append(options.get("timeout"))
        mine = sorted((n, r) for (c, n), r in self.stored.items() if c == request.caller)
        return pb.ListRegistryCredentialsResponse(credentials=[self._answer(r) for _, r in mine])

    async def CreateRegistryCredential(  # noqa: N802
        self, request: pb.RegistryCredentialRequest, **options: Any
    ) -> pb.RegistryCredential:
        self.timeouts.append(options.get("timeout"))
        if request.name != request.name.lower():
            raise refused(grpc.StatusCode.INVALID_ARGUMENT, "registry credential name is not valid")
        if len([c for c, _ in self.stored if c == request.caller]) >= 2:
            raise refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many", "quota-exceeded")
        if (request.caller, request.name) in self.stored:
            raise refused(grpc.StatusCode.ALREADY_EXISTS, "registry credential exists")
        self.stored[request.caller, request.name] = request
        return self._answer(request)

    async def UpdateRegistryCredential(  # noqa: N802
        self, request: pb.RegistryCredentialRequest, **options: Any
    ) -> pb.RegistryCredential:
        self.timeouts.append(options.get("timeout"))
        if (request.caller, request.name) not in self.stored:
            raise refused(
                grpc.StatusCode.NOT_FOUND, f"registry credential {request.name} not found"
            )
        self.stored[request.caller, request.name] = request
        return self._answer(request)

    async def DeleteRegistryCredential(  # noqa: N802
        self, request: pb.RegistryCredentialRef, **options: Any
    ) -> pb.DeleteResponse:
        self.timeouts.append(options.get("timeout"))
        if self.stored.pop((request.caller, request.name), None) is None:
            raise refused(
                grpc.StatusCode.NOT_FOUND, f"registry credential {request.name} not found"
            )
        return pb.DeleteResponse(deleted=True)


class Authenticated:
    def still_valid(self, caller: Caller) -> bool:
        return True


async def ask(
    submitter: Submitter, user: str | None, query: str, **variables: Any
) -> tuple[Any, list[dict[str, Any]]]:
    gateway = SimpleNamespace(submitter=submitter, authenticator=Authenticated())
    context = {"gateway": gateway, "caller": Caller(user) if user else None}
    result = await schema.execute(query, variable_values=variables, context_value=context)
    errors = [{"message": e.message, **(e.extensions or {})} for e in result.errors or []]
    return result.data, errors


CREATE = """mutation($c: DockerRegistryCredentialInput!) {
  createDockerRegistryCredential(credential: $c) { name username server } }"""
UPDATE = """mutation($c: DockerRegistryCredentialInput!) {
  updateDockerRegistryCredential(credential: $c) { name username server } }"""
DELETE = "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }"
LIST = "{ dockerRegistryCredentials { name username server } }"


def credential(name: str = "ghcr", **changes: str) -> dict[str, str]:
    return {"name": name, "username": "alice", "password": PASSWORD, "server": "ghcr.io", **changes}


async def test_the_original_guis_operations_in_its_shapes() -> None:
    submitter = Submitter()
    data, errors = await ask(submitter, ALICE, CREATE, c=credential())
    assert errors == []
    assert data == {
        "createDockerRegistryCredential": {"name": "ghcr", "username": "alice", "server": "ghcr.io"}
    }
    sent = submitter.stored[ALICE, "ghcr"]
    assert (sent.caller, sent.server, sent.username, sent.password) == (
        ALICE, "ghcr.io", "alice", PASSWORD,
    )  # fmt: skip
    data, errors = await ask(
        submitter, ALICE, UPDATE, c=credential(server="quay.io", password="other")
    )
    assert errors == []
    assert data["updateDockerRegistryCredential"]["server"] == "quay.io"
    assert submitter.stored[ALICE, "ghcr"].password == "other"
    data, _ = await ask(submitter, ALICE, LIST)
    assert data == {
        "dockerRegistryCredentials": [{"name": "ghcr", "username": "alice", "server": "quay.io"}]
    }
    assert await ask(submitter, ALICE, DELETE, n="ghcr") == (
        {"deleteDockerRegistryCredential": True}, [],
    )  # fmt: skip
    assert (await ask(submitter, ALICE, LIST))[0] == {"dockerRegistryCredentials": []}
    # Every call had the request's deadline.
    assert submitter.timeouts
    assert all(t is not None and t > 0 for t in submitter.timeouts)


async def test_no_type_of_the_schema_answers_a_password() -> None:
    answered = schema._schema.get_type("DockerRegistryCredential")
    assert set(answered.fields) == {"name", "username", "server"}  # type: ignore[union-attr]
    given = schema._schema.get_type("DockerRegistryCredentialInput")
    assert set(given.fields) == {"name", "username", "password", "server"}  # type: ignore[union-attr]
    data, errors = await ask(
        Submitter(), ALICE, CREATE.replace("server }", "server password }"), c=credential()
    )
    assert data is None
    assert [e["code"] for e in errors] == ["GRAPHQL_VALIDATION_FAILED"]
    assert PASSWORD not in str(errors)


def test_the_input_keeps_its_password_out_of_its_repr() -> None:
    given = DockerRegistryCredentialInput(
        name="ghcr", username="alice", password=PASSWORD, server="ghcr.io"
    )
    assert PASSWORD not in repr(given)
    assert PASSWORD not in str(given)


async def test_one_callers_credentials_are_not_anothers() -> None:
    submitter = Submitter()
    await ask(submitter, ALICE, CREATE, c=credential())
    assert (await ask(submitter, BOB, LIST))[0] == {"dockerRegistryCredentials": []}
    for query, variables in ((UPDATE, {"c": credential()}), (DELETE, {"n": "ghcr"})):
        data, errors = await ask(submitter, BOB, query, **variables)
        assert data is None
        assert [e["code"] for e in errors] == ["NOT_FOUND_ERROR"]
    assert submitter.stored[ALICE, "ghcr"].password == PASSWORD


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (CREATE, {"c": credential(name="Bad")}, "INPUT_VALIDATION_ERROR"),
        (CREATE, {"c": credential()}, "CONFLICT_ERROR"),
        (UPDATE, {"c": credential(name="missing")}, "NOT_FOUND_ERROR"),
        (DELETE, {"n": "missing"}, "NOT_FOUND_ERROR"),
        # A field missing from the input is refused before any call.
        (CREATE, {"c": {"name": "x", "username": "u", "server": "s"}}, "INPUT_VALIDATION_ERROR"),
    ],
)
async def test_refusals_are_typed_and_quote_no_password(
    query: str, variables: dict[str, Any], code: str
) -> None:
    submitter = Submitter()
    await ask(submitter, ALICE, CREATE, c=credential())
    data, errors = await ask(submitter, ALICE, query, **variables)
    assert data is None
    assert [e["code"] for e in errors] == [code]
    assert PASSWORD not in str(errors)


async def test_the_per_user_bound_is_refused() -> None:
    submitter = Submitter()
    for name in ("a", "b"):
        await ask(submitter, ALICE, CREATE, c=credential(name))
    data, errors = await ask(submitter, ALICE, CREATE, c=credential("c"))
    assert data is None
    assert len(errors) == 1
    assert PASSWORD not in str(errors)
    assert (ALICE, "c") not in submitter.stored


@pytest.mark.parametrize("query", [LIST, CREATE, UPDATE, DELETE])
async def test_every_operation_needs_a_caller(query: str) -> None:
    variables = {"c": credential()} if "$c" in query else {"n": "ghcr"} if "$n" in query else {}
    submitter = Submitter()
    data, errors = await ask(submitter, None, query, **variables)
    assert data is None
    assert [e["code"] for e in errors] == ["UNAUTHENTICATED"]
    assert submitter.timeouts == []
