import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError

from simpipe_common.errors import UnauthenticatedError
from simpipe_common.testing import UNREACHABLE_ENV
from simpipe_gateway.auth import Authenticator, parse_api_tokens
from simpipe_gateway.config import GatewaySettings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()


def authenticator(jwks_url: str | None = None, dev_user: str | None = None) -> Authenticator:
    return Authenticator(
        api_tokens=parse_api_tokens("token-for-alice-0001=alice"),
        jwks=jwt.PyJWKClient(jwks_url) if jwks_url else None,
        issuer="https://issuer.test",
        audience="simpipe",
        user_claim="preferred_username",
        dev_user=dev_user,
    )


def token(key: rsa.RSAPrivateKey = KEY, **claims: object) -> str:
    return signed(key, {"kid": "k1"}, **claims)


def signed(key: rsa.RSAPrivateKey, headers: dict[str, str], **claims: object) -> str:
    now = int(time.time())
    body = {"iss": "https://issuer.test", "aud": "simpipe", "iat": now, "exp": now + 60,
            "sub": "u-1", "preferred_username": "bob", **claims}  # fmt: skip
    return jwt.encode(body, key, algorithm="RS256", headers=headers)


async def name_of(auth: Authenticator, header: str | None) -> str | None:
    found = await auth.caller(header)
    return None if found is None else found.name


async def test_api_token_names_its_user() -> None:
    assert await name_of(authenticator(), "Bearer token-for-alice-0001") == "alice"
    assert await name_of(authenticator(), None) is None


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token-000000000", "Basic dXNlcjpwYXNz", "Bearer", "token-for-alice-0001"],
)
async def test_bad_headers_are_refused_not_anonymous(header: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await authenticator().caller(header)


async def test_oidc_users_live_apart_from_api_token_users(jwks_url: str) -> None:
    """An OIDC user named like a bootstrap user is another user: `oidc:alice`."""
    auth = authenticator(jwks_url)
    oidc_alice = await auth.caller(f"Bearer {token(preferred_username='alice')}")
    assert oidc_alice is not None
    assert oidc_alice.name == "oidc:alice"
    assert oidc_alice.name != await name_of(auth, "Bearer token-for-alice-0001")
    assert oidc_alice.expires_at is not None  # the JWT's exp: subscriptions end there


async def test_oidc_token_signed_by_the_jwks_is_accepted(jwks_url: str) -> None:
    assert await name_of(authenticator(jwks_url), f"Bearer {token()}") == "oidc:bob"


async def test_a_token_naming_no_key_takes_the_providers_only_key(jwks_url: str) -> None:
    # oidc-provider-mock (the local stack's provider) names no kid.
    assert await name_of(authenticator(jwks_url), f"Bearer {signed(KEY, {})}") == "oidc:bob"
    with pytest.raises(UnauthenticatedError, match="refused"):
        await authenticator(jwks_url).caller(f"Bearer {signed(OTHER_KEY, {})}")
    with pytest.raises(UnauthenticatedError, match="refused"):
        await authenticator(jwks_url).caller(f"Bearer {signed(KEY, {'kid': 'k2'})}")


@pytest.mark.parametrize(
    ("key", "claims"),
    [
        (OTHER_KEY, {}),
        (KEY, {"exp": int(time.time()) - 10}),
        (KEY, {"aud": "someone-else"}),
        (KEY, {"iss": "https://evil.test"}),
    ],
)
async def test_forged_expired_or_foreign_tokens_are_refused(
    jwks_url: str, key: rsa.RSAPrivateKey, claims: dict[str, object]
) -> None:
    with pytest.raises(UnauthenticatedError, match="refused"):
        await authenticator(jwks_url).caller(f"Bearer {token(key, **claims)}")


async def test_dev_mode_acts_as_the_dev_user_only_when_set() -> None:
    assert await name_of(authenticator(dev_user="dev"), None) == "dev"


@pytest.mark.parametrize(
    "spec",
    [
        "short=alice",
        "no-user-here-000000",
        "tok-0000000000000000=",
        # ':' is the mark of the other namespaces: no bootstrap user is `oidc:...`.
        "tok-0000000000000000=oidc:bob",
    ],
)
def test_weak_or_malformed_token_lists_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"SIMPIPE_API_TOKENS|at least"):
        parse_api_tokens(spec)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SIMPIPE_OIDC_ISSUER and SIMPIPE_OIDC_AUDIENCE"),
        ({"oidc_issuer": "https://issuer.test"}, "SIMPIPE_OIDC_AUDIENCE"),
        ({"oidc_audience": "simpipe"}, "SIMPIPE_OIDC_ISSUER"),
    ],
)
def test_oidc_needs_its_issuer_and_audience(env: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValidationError, match=f"so {missing} must be set"):
        GatewaySettings(oidc_jwks_url="https://issuer.test/jwks", **env)
    complete: dict[str, Any] = {"oidc_issuer": "https://issuer.test", "oidc_audience": "simpipe"}
    assert GatewaySettings(oidc_jwks_url="https://issuer.test/jwks", **complete).oidc_audience


async def test_the_gateway_refuses_to_start_without_them() -> None:
    env = {**os.environ, **UNREACHABLE_ENV, "SIMPIPE_OIDC_JWKS_URL": "http://127.0.0.1:9/jwks"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simpipe_gateway", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        "gateway cannot start: Value error, SIMPIPE_OIDC_JWKS_URL is set,"
        " so SIMPIPE_OIDC_ISSUER and SIMPIPE_OIDC_AUDIENCE must be set too"
    )
