import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from simpipe_common.errors import UnauthenticatedError
from simpipe_gateway.auth import Authenticator, parse_api_tokens

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
    now = int(time.time())
    body = {"iss": "https://issuer.test", "aud": "simpipe", "iat": now, "exp": now + 60,
            "sub": "u-1", "preferred_username": "bob", **claims}  # fmt: skip
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


async def test_api_token_names_its_user() -> None:
    assert await authenticator().user("Bearer token-for-alice-0001") == "alice"
    assert await authenticator().user(None) is None


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token-000000000", "Basic dXNlcjpwYXNz", "Bearer", "token-for-alice-0001"],
)
async def test_bad_headers_are_refused_not_anonymous(header: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await authenticator().user(header)


async def test_oidc_token_signed_by_the_jwks_is_accepted(jwks_url: str) -> None:
    assert await authenticator(jwks_url).user(f"Bearer {token()}") == "bob"


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
        await authenticator(jwks_url).user(f"Bearer {token(key, **claims)}")


async def test_dev_mode_acts_as_the_dev_user_only_when_set() -> None:
    assert await authenticator(dev_user="dev").user(None) == "dev"


@pytest.mark.parametrize("spec", ["short=alice", "no-user-here-000000", "tok-0000000000000000="])
def test_weak_or_malformed_token_lists_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"SIMPIPE_API_TOKENS|at least"):
        parse_api_tokens(spec)
