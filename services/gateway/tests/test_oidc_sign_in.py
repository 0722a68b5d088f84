"""The gateway's half of the web GUI's OIDC sign-in, against a stand-in
provider (httpx.MockTransport): what the page is told, what it must send,
and each way the exchange is refused. The real provider's flow is in
tests/web/test_web_account.py."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from simpipe_common.errors import UnauthenticatedError
from simpipe_gateway.auth import Authenticator, Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.oidc_sign_in import OidcSignIn, SignInError, check_exchange

ISSUER = "http://provider.test"
CALLBACK = "http://127.0.0.1:8080/login/callback"
VERIFIER = "v" * 43
OIDC: dict[str, Any] = {
    "oidc_jwks_url": f"{ISSUER}/jwks",
    "oidc_issuer": ISSUER,
    "oidc_audience": "simpipe-web",
    "oidc_client_secret": "s3cret",
}


class NamedBy(Authenticator):
    """Takes the ID token "good.id.token" as alice (the JWKS check itself is test_auth's)."""

    async def oidc_caller(self, token: str) -> Caller:
        if token != "good.id.token":
            raise UnauthenticatedError("the token was refused: bad signature")
        return Caller("oidc:alice")


def provider(token_answer: httpx.Response, seen: list[dict[str, str]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                },
            )
        if request.url.path == "/token":
            seen.append(dict(httpx.QueryParams(request.content.decode())))
            return token_answer
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def client(
    settings: dict[str, Any], token_answer: httpx.Response | None = None
) -> tuple[httpx.AsyncClient, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []
    gateway = GatewaySettings(**settings)
    authenticator = NamedBy.from_settings(gateway, None)
    transport = provider(token_answer or httpx.Response(500), seen)
    return served(mounted(OidcSignIn(gateway, authenticator, transport))), seen


def served(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def mounted(oidc: OidcSignIn) -> Any:
    """Both routes at their paths, as the gateway's HTTP server mounts them."""
    routes = {"/auth/oidc": oidc.settings_route, "/auth/oidc/token": oidc.token_route}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await routes[scope["path"]](scope, receive, send)

    return app


def exchange(code: str = "the-code") -> dict[str, str]:
    return {"code": code, "codeVerifier": VERIFIER, "redirectUri": CALLBACK}


async def test_without_oidc_the_page_is_told_it_is_off_and_no_exchange_is_made() -> None:
    test, seen = client({})
    assert (await test.get("/auth/oidc")).json() == {"enabled": False}
    refused = await test.post("/auth/oidc/token", json=exchange())
    assert refused.status_code == 404
    assert "not configured" in refused.json()["error"]
    assert seen == []


async def test_the_page_learns_where_to_send_the_user_and_nothing_secret() -> None:
    test, _ = client(OIDC)
    told = await test.get("/auth/oidc")
    assert told.status_code == 200
    assert told.json() == {
        "enabled": True,
        "issuer": ISSUER,
        "clientId": "simpipe-web",
        "authorizationEndpoint": f"{ISSUER}/authorize",
        "scope": "openid profile",
        "callbackPath": "/login/callback",
    }
    assert "s3cret" not in told.text
    assert (await test.post("/auth/oidc")).status_code == 405


async def test_a_code_is_traded_as_the_confidential_client_and_the_user_named() -> None:
    test, seen = client(OIDC, httpx.Response(200, json={"id_token": "good.id.token"}))
    answer = await test.post("/auth/oidc/token", json=exchange())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"token": "good.id.token", "username": "oidc:alice"}
    assert seen == [
        {
            "grant_type": "authorization_code",
            "code": "the-code",
            "code_verifier": VERIFIER,
            "redirect_uri": CALLBACK,
            "client_id": "simpipe-web",
            "client_secret": "s3cret",
        }
    ]


@pytest.mark.parametrize(
    ("provider_answer", "status", "said"),
    [
        (
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "code used"}),
            401,
            "refused the sign-in: code used",
        ),
        (httpx.Response(200, json={"access_token": "x"}), 502, "no ID token"),
        (httpx.Response(200, json={"id_token": "forged.id.token"}), 401, "bad signature"),
        (httpx.Response(502, text="<html>down</html>"), 401, "refused the sign-in: 502"),
    ],
)
async def test_what_the_provider_refuses_or_botches_is_said(
    provider_answer: httpx.Response, status: int, said: str
) -> None:
    test, _ = client(OIDC, provider_answer)
    answer = await test.post("/auth/oidc/token", json=exchange())
    assert answer.status_code == status
    assert said in answer.json()["error"]


async def test_an_unreachable_provider_is_a_503() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway = GatewaySettings(**OIDC)
    oidc = OidcSignIn(gateway, NamedBy.from_settings(gateway, None), httpx.MockTransport(down))
    answer = await served(mounted(oidc)).get("/auth/oidc")
    assert answer.status_code == 503
    assert "could not be reached" in answer.json()["error"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ([], "JSON object"),
        ({**exchange(), "code": ""}, "code must be"),
        ({**exchange(), "code": "a b"}, "code must be"),
        ({**exchange(), "codeVerifier": "short"}, "codeVerifier must be"),
        ({**exchange(), "codeVerifier": "v" * 129}, "codeVerifier must be"),
        ({**exchange(), "redirectUri": "http://evil.test/steal"}, "redirectUri must be"),
        ({**exchange(), "redirectUri": "javascript:alert(1)"}, "redirectUri must be"),
        ({**exchange(), "redirectUri": f"{CALLBACK}?next=x"}, "no query"),
        ({**exchange(), "redirectUri": "http://u:p@127.0.0.1/login/callback"}, "credentials"),
        ({**exchange(), "redirectUri": 7}, "redirectUri must be"),
    ],
)
async def test_bad_exchange_requests_are_refused_before_the_provider_is_asked(
    body: Any, said: str
) -> None:
    with pytest.raises(SignInError) as refused:
        check_exchange(body)
    assert refused.value.status == 400
    assert said in str(refused.value)
    test, seen = client(OIDC, httpx.Response(200, json={"id_token": "good.id.token"}))
    answer = await test.post("/auth/oidc/token", content=json.dumps(body))
    assert answer.status_code == 400
    assert said in answer.json()["error"]
    assert seen == []


async def test_a_body_that_is_not_json_or_too_big_is_refused() -> None:
    test, seen = client(OIDC, httpx.Response(200, json={"id_token": "good.id.token"}))
    assert (await test.post("/auth/oidc/token", content=b"{nope")).status_code == 400
    too_big = await test.post("/auth/oidc/token", content=b"x" * 9000)
    assert too_big.status_code == 413
    assert "the limit is 8192" in too_big.json()["error"]

    async def unbounded() -> AsyncIterator[bytes]:
        yield b"{"

    # Without a length the body is not read at all.
    assert (await test.post("/auth/oidc/token", content=unbounded())).status_code == 411
    assert (await test.get("/auth/oidc/token")).status_code == 405
    assert seen == []
