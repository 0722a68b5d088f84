"""An OIDC login on the local stack: an ID token from the stack's OpenID
provider (authorization code flow, as a browser's login goes) is a
credential at the gateway, acting as `oidc:<subject>`; a token for another
client, or from another provider, is not."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.components.oidc import CLIENT_ID, Oidc
from simpipe_devstack.stack import Stack

REDIRECT = "http://127.0.0.1:8080/login/callback"


def id_token(stack: Stack, subject: str, client_id: str = CLIENT_ID) -> str:
    """Signs `subject` in on the provider's form, as a browser would, and
    trades the code for tokens."""
    issuer = Oidc().issuer(stack)
    query = {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile",
        "state": uuid.uuid4().hex,
    }
    with httpx.Client(base_url=issuer, timeout=10) as http:
        signed_in = http.post("/oauth2/authorize", params=query, data={"sub": subject})
        assert signed_in.status_code == 302
        callback = urlsplit(signed_in.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT
        assert parse_qs(callback.query)["state"] == [query["state"]]
        [code] = parse_qs(callback.query)["code"]
        tokens = http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "client_secret": "unused",
            },
        )
        assert tokens.status_code == 200
        token: str = tokens.json()["id_token"]
        return token


async def test_an_id_token_of_the_stacks_provider_is_a_credential(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    subject = f"oidc-user-{uuid.uuid4().hex[:6]}"
    token = id_token(stack, subject)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == [CLIENT_ID]
    gql = AsyncSimpipe(endpoints["graphql"], token)
    try:
        assert (await gql.graphql("{ username }"))["username"] == f"oidc:{subject}"
        # Its own projects only: a new OIDC user has none.
        assert (await gql.graphql("{ projects { id } }"))["projects"] == []
    finally:
        await gql.aclose()


async def test_a_token_for_another_client_or_forged_is_refused(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    other_client = id_token(stack, "someone", client_id="another-app")
    header, claims, _ = id_token(stack, "someone").split(".")
    forged = f"{header}.{claims}.{'A' * 342}"
    for token in (other_client, forged):
        gql = AsyncSimpipe(endpoints["graphql"], token)
        try:
            with pytest.raises(GraphQLError) as refused:
                await gql.graphql("{ username }")
            assert refused.value.codes == ["UNAUTHENTICATED"]
        finally:
            await gql.aclose()
