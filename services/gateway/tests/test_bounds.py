"""Hostile documents are refused with QUERY_TOO_COMPLEX before any resolver
runs, with or without a token; ordinary ones (the original GUI's) pass."""

from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import pytest

from simpipe.v1 import argo_watcher_pb2, dry_runs_pb2, workflow_submitter_pb2
from simpipe_gateway.auth import Authenticator
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
TOKEN = "token-for-alice-0001"


class Services:
    """The services a resolver would reach, counting every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        def call(request: Any, timeout: float | None = None) -> Awaitable[Any]:
            self.calls.append(method)
            return self._answer(method)

        return call

    async def _answer(self, method: str) -> Any:
        if method == "ListProjects":
            project = dry_runs_pb2.Project(id="p", name="p")
            return workflow_submitter_pb2.ListProjectsResponse(projects=[project])
        if method == "ListDryRuns":
            run = dry_runs_pb2.DryRun(id="r", project_id="p")
            return argo_watcher_pb2.ListDryRunsResponse(dry_runs=[run])
        if method == "GetProject":
            return dry_runs_pb2.Project(id="p", name="p")
        raise AssertionError(method)


def context(services: Services, authorization: str | None) -> dict[str, Any]:
    authenticator = Authenticator(
        api_tokens={TOKEN: "alice"}, jwks=None, issuer="", audience="", user_claim="", dev_user=None
    )
    gateway = SimpleNamespace(submitter=services, watcher=services, authenticator=authenticator)
    headers = {"authorization": authorization} if authorization else {}
    return {"gateway": gateway, "request": SimpleNamespace(headers=headers)}


async def ask(query: str, authorization: str | None) -> tuple[Any, list[str]]:
    services = Services()
    result = await schema.execute(query, context_value=context(services, authorization))
    codes = [(e.extensions or {}).get("code") for e in result.errors or []]
    return (result.data, codes), services.calls


def nested(levels: int) -> str:
    """projects -> dryRuns -> project -> dryRuns -> ... `levels` fields deep."""
    fields = ["projects"] + ["dryRuns" if i % 2 else "project" for i in range(1, levels)]
    return "{ " + " { ".join(fields) + " { id }" + " }" * levels


HOSTILE = {
    "deep": nested(40),
    "aliases": "{ " + " ".join(f"a{i}: projects {{ id }}" for i in range(2000)) + " }",
    "public aliases": "{ " + " ".join(f"p{i}: ping" for i in range(20_000)) + " }",
    "tokens": "{ projects { " + " ".join(["id"] * 6000) + " } }",
    # Within depth and aliases, but each level multiplies what is below it.
    "fan-out": "{ projects { dryRuns { project { dryRuns { project { dryRuns { id } } } } } } }",
    # Fragments spread into each other: 4^12 fields once expanded.
    "fragment bomb": "{ ...F0 } "
    + " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} ...F{i + 1} ...F{i + 1} }}"
        for i in range(12)
    )
    + " fragment F12 on Query { ping }",
}


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}"], ids=["anonymous", "token"])
@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_hostile_documents_are_refused_before_any_resolver(
    kind: str, authorization: str | None
) -> None:
    (data, codes), calls = await ask(HOSTILE[kind], authorization)
    assert (data, codes) == (None, ["QUERY_TOO_COMPLEX"])
    assert calls == []  # no resolver reached a service


async def test_the_original_guis_queries_pass() -> None:
    gui_projects = """query projects { projects { name id createdAt dryRuns { id }
        workflowTemplates { argoWorkflowTemplate } } }"""
    (data, codes), calls = await ask(
        gui_projects.replace("workflowTemplates { argoWorkflowTemplate }", ""), f"Bearer {TOKEN}"
    )
    assert codes == []
    assert data["projects"][0]["dryRuns"] == [{"id": "r"}]
    assert calls == ["ListProjects", "ListDryRuns"]
    deep_enough = "{ projects { dryRuns { project { id } } } }"
    (_, codes), _ = await ask(deep_enough, f"Bearer {TOKEN}")
    assert codes == []


async def test_ping_answers_without_a_token_within_the_bounds() -> None:
    (data, codes), _ = await ask("{ a: ping b: ping }", None)
    assert (data, codes) == ({"a": "pong", "b": "pong"}, [])
    (data, codes), _ = await ask("{ projects { id } }", None)
    assert (data, codes) == (None, ["UNAUTHENTICATED"])


@pytest.mark.parametrize(
    ("limit", "query"),
    [
        ("max_query_depth", nested(4)),
        ("max_query_aliases", "{ a: ping b: ping c: ping }"),
        ("max_query_tokens", "{ ping ping ping ping ping }"),
        ("max_query_cost", "{ projects { id name } }"),
        ("max_query_chars", "{ ping }"),
    ],
)
async def test_each_bound_is_a_setting(limit: str, query: str) -> None:
    # Two characters of text, or two of the others.
    tight = build_schema(GatewaySettings(**{limit: 2}))  # type: ignore[arg-type]
    services = Services()
    result = await tight.execute(query, context_value=context(services, f"Bearer {TOKEN}"))
    assert [(e.extensions or {}).get("code") for e in result.errors or []] == ["QUERY_TOO_COMPLEX"]
    assert services.calls == []
    loose = await schema.execute(query, context_value=context(Services(), f"Bearer {TOKEN}"))
    assert loose.errors is None


async def test_introspection_is_off_by_default_and_on_by_setting() -> None:
    query = "{ __schema { queryType { name } } }"
    refused = await schema.execute(query)
    assert refused.data is None
    first = (refused.errors or [])[0]
    assert (first.extensions or {}).get("code") == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection has been disabled" in first.message
    allowed = await build_schema(GatewaySettings(introspection=True)).execute(query)
    assert allowed.data == {"__schema": {"queryType": {"name": "Query"}}}
    # __typename is no introspection of the schema: clients rely on it.
    assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
