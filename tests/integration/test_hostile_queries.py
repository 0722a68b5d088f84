"""Hostile queries against the running gateway: refused before execution,
with and without a token, while another user's query is still answered; and
access tokens: created, used, revoked, refused within seconds, their open
subscription ended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack

# A selection nested 40 levels deep: projects -> dryRuns -> project -> ...
DEEP = (
    "{ "
    + " { ".join(["projects"] + ["dryRuns" if i % 2 else "project" for i in range(1, 40)])
    + " { id }"
    + " }" * 40
)
ALIASES = "{ " + " ".join(f"a{i}: projects {{ id }}" for i in range(2000)) + " }"
PUBLIC_ALIASES = "{ " + " ".join(f"p{i}: ping" for i in range(20_000)) + " }"
FAN_OUT = "{ projects { dryRuns { project { dryRuns { project { dryRuns { id } } } } } } }"
# A list literal of 20,000 keys: too many tokens to be parsed.
HUGE_LIST = (
    'mutation { deleteArtifacts(bucketName: "none", keys: ['
    + ", ".join(f'"k{i}"' for i in range(20_000))
    + "]) }"
)
HOSTILE = {
    "deep": DEEP,
    "aliases": ALIASES,
    "public aliases": PUBLIC_ALIASES,
    "fan-out": FAN_OUT,
    "huge list": HUGE_LIST,
}


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens["local-guest"])
    yield gql
    await gql.aclose()


@pytest.fixture
async def anonymous(endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], None)
    yield gql
    await gql.aclose()


async def refusal_codes(gql: AsyncSimpipe, query: str, **variables: Any) -> list[str]:
    with pytest.raises(GraphQLError) as refused:
        await gql.graphql(query, **variables)
    return refused.value.codes


@pytest.mark.parametrize("who", ["guest", "anonymous"])
@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_hostile_queries_are_refused_while_others_are_answered(
    kind: str, who: str, guest: AsyncSimpipe, anonymous: AsyncSimpipe, dev: AsyncSimpipe
) -> None:
    attacker = guest if who == "guest" else anonymous
    attacks = [asyncio.create_task(refusal_codes(attacker, HOSTILE[kind])) for _ in range(4)]
    # local-dev is served meanwhile, well within the attack.
    async with asyncio.timeout(10):
        answered = await dev.graphql("{ projects { id } username }")
    assert answered["username"] == "local-dev"
    for codes in await asyncio.gather(*attacks):
        assert codes == ["QUERY_TOO_COMPLEX"]


async def test_a_huge_list_in_variables_is_refused_and_deletes_nothing(dev: AsyncSimpipe) -> None:
    key = "hostile-queries/keep-me.txt"
    url = (
        await dev.graphql("mutation($k: String!) { computeUploadPresignedUrl(key: $k) }", k=key)
    )["computeUploadPresignedUrl"]
    async with httpx.AsyncClient() as http:
        assert (await http.put(url, content=b"still here")).status_code == 200
    listed = await dev.graphql(
        "query($p: String!) { artifacts(prefix: $p) { key bucketName } }", p="hostile-queries/"
    )
    (stored,) = [a for a in listed["artifacts"] if a["key"] == key]
    keys = [key] + [f"hostile-queries/k{i}" for i in range(5000)]
    delete = "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }"
    assert await refusal_codes(dev, delete, b=stored["bucketName"], k=keys) == [
        "INPUT_VALIDATION_ERROR"
    ]
    still = await dev.graphql(
        "query($b: String!, $k: String!) { artifact(bucketName: $b, key: $k) { size } }",
        b=stored["bucketName"],
        k=key,
    )
    assert still["artifact"]["size"] == len(b"still here")
    await dev.graphql(delete, b=stored["bucketName"], k=[key])


async def test_graphiql_and_introspection_follow_the_settings(
    anonymous: AsyncSimpipe, endpoints: dict[str, str]
) -> None:
    """The local stack enables both for developers (SIMPIPE_GRAPHIQL,
    SIMPIPE_INTROSPECTION); a gateway without them refuses both."""
    async with httpx.AsyncClient() as http:
        page = await http.get(endpoints["graphql"], headers={"accept": "text/html"})
    introspected = await anonymous.graphql("{ __schema { queryType { name } } }")
    assert page.status_code == 200
    assert introspected == {"__schema": {"queryType": {"name": "Query"}}}


CREATE_TOKEN = """mutation($n: String!) { createAccessToken(name: $n, expiresInDays: 1)
  { token accessToken { id name } } }"""
UPDATES = "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"
LONG_STEP = (SimulatedStep("wait", seconds=60, cpu_millicores=100, memory_mib=16),)


async def drain(updates: AsyncIterator[dict[str, Any]]) -> None:
    """Reads on (updates already on their way) until the subscription ends."""
    async for _ in updates:
        pass


@pytest.mark.timeout(120)
async def test_an_access_token_is_created_used_revoked_and_refused_within_seconds(
    dev: AsyncSimpipe, endpoints: dict[str, str], project: str
) -> None:
    created = (await dev.graphql(CREATE_TOKEN, n="hostile-queries"))["createAccessToken"]
    token_id = created["accessToken"]["id"]
    minted = AsyncSimpipe(endpoints["graphql"], created["token"])
    try:
        assert (await minted.graphql("{ username }")) == {"username": "local-dev"}
        listed = (await dev.graphql("{ accessTokens { id name } }"))["accessTokens"]
        assert {"id": token_id, "name": "hostile-queries"} in listed

        # A subscription of the token's, open (its first update came) when
        # the token is revoked.
        run_id = f"token-{uuid.uuid4().hex[:8]}"
        document = simulated_pipeline(LONG_STEP, argo_service("http://unused")).to_dict()
        await minted.graphql(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={
                "projectId": project,
                "dryRunId": run_id,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": document,
            },
        )
        updates = minted.subscribe(UPDATES, id=run_id)
        async with asyncio.timeout(30):
            await anext(updates)
        revoked = await dev.graphql(
            "mutation($id: String!) { revokeAccessToken(id: $id) }", id=token_id
        )
        assert revoked == {"revokeAccessToken": True}
        with pytest.raises(GraphQLError) as ended:
            await asyncio.wait_for(drain(updates), 10)
        assert ended.value.codes == ["UNAUTHENTICATED"]
        assert await refusal_codes(minted, "{ username }") == ["UNAUTHENTICATED"]
        listed = (await dev.graphql("{ accessTokens { id } }"))["accessTokens"]
        assert {"id": token_id} not in listed
    finally:
        await minted.aclose()
