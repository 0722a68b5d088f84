"""The web GUI's OpenID Connect sign-in, the gateway's half of it.

/auth/oidc tells the page whether OIDC is on and where to send the user
(the provider's authorization endpoint, from its discovery document).
/auth/oidc/token takes the code the provider sent back with the page's PKCE
verifier, trades it at the provider's token endpoint as the configured
client (a confidential client's secret never reaches a browser; a provider
need not allow browsers' cross-origin calls), checks the ID token as every
request's token is checked, and answers it with the user it names.
"""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from simpipe_common.errors import ServiceError
from simpipe_gateway.auth import Authenticator
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.request_body import body_refusal

log = structlog.get_logger()

# Where the page receives the provider's answer (its route /login/callback).
CALLBACK_PATH = "/login/callback"
SCOPE = "openid profile"
# RFC 6749's code is opaque: printable ASCII, bounded here.
CODE = re.compile(r"[\x21-\x7e]{1,2048}")
# RFC 7636: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
MAX_BODY = 8192


class SignInError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ProviderEndpoints:
    authorization: str
    token: str


def _refusal(error: SignInError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=error.status)


def check_redirect(value: object) -> str:
    """The page's own callback: an http(s) URL whose path is CALLBACK_PATH.
    The provider checks it against the authorization request too."""
    if not isinstance(value, str) or len(value) > 2048:
        raise SignInError(400, "redirectUri must be a URL of at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path != CALLBACK_PATH:
        raise SignInError(400, f"redirectUri must be this app's {CALLBACK_PATH} URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SignInError(400, "redirectUri must carry no query, fragment or credentials")
    return value


def check_exchange(body: Any) -> tuple[str, str, str]:
    """(code, verifier, redirect URI) of a token request, or a 400."""
    if not isinstance(body, dict):
        raise SignInError(400, "send a JSON object with code, codeVerifier and redirectUri")
    code, verifier = body.get("code"), body.get("codeVerifier")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise SignInError(400, "code must be the provider's authorization code")
    if not isinstance(verifier, str) or not VERIFIER.fullmatch(verifier):
        raise SignInError(400, "codeVerifier must be 43 to 128 of A-Z a-z 0-9 - . _ ~")
    return code, verifier, check_redirect(body.get("redirectUri"))


class OidcSignIn:
    def __init__(
        self,
        settings: GatewaySettings,
        authenticator: Authenticator,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._enabled = bool(settings.oidc_jwks_url) and not settings.auth_disabled
        self._issuer = settings.oidc_issuer.rstrip("/")
        self._client_id = settings.oidc_client_id or settings.oidc_audience
        self._secret = settings.oidc_client_secret.get_secret_value()
        self._authenticator = authenticator
        self._endpoints: ProviderEndpoints | None = None
        # The provider's HTTP: the network, or a test's stand-in.
        self._transport = transport

    async def _discovered(self, http: httpx.AsyncClient) -> ProviderEndpoints:
        """The provider's endpoints, read once they are read successfully."""
        if self._endpoints is None:
            url = f"{self._issuer}/.well-known/openid-configuration"
            try:
                answer = await http.get(url)
                answer.raise_for_status()
                document = answer.json()
                self._endpoints = ProviderEndpoints(
                    str(document["authorization_endpoint"]), str(document["token_endpoint"])
                )
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                log.warning("oidc discovery failed", url=url, error=str(error))
                raise SignInError(
                    503, f"the OpenID provider {self._issuer} could not be reached"
                ) from None
        return self._endpoints

    async def settings_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET /auth/oidc: what the sign-in page needs; nothing secret."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await JSONResponse({"error": "GET only"}, status_code=405)(scope, receive, send)
            return
        if not self._enabled:
            await JSONResponse({"enabled": False})(scope, receive, send)
            return
        try:
            async with httpx.AsyncClient(timeout=10, transport=self._transport) as http:
                endpoints = await self._discovered(http)
        except SignInError as error:
            await _refusal(error)(scope, receive, send)
            return
        answer = {
            "enabled": True,
            "issuer": self._issuer,
            "clientId": self._client_id,
            "authorizationEndpoint": endpoints.authorization,
            "scope": SCOPE,
            "callbackPath": CALLBACK_PATH,
        }
        await JSONResponse(answer)(scope, receive, send)

    async def token_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /auth/oidc/token {code, codeVerifier, redirectUri} ->
        {token, username}."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await JSONResponse({"error": "POST only"}, status_code=405)(scope, receive, send)
            return
        try:
            answer = await self._exchange(Request(scope, receive))
        except SignInError as error:
            await _refusal(error)(scope, receive, send)
            return
        await JSONResponse(answer)(scope, receive, send)

    async def _exchange(self, request: Request) -> dict[str, str]:
        if not self._enabled:
            raise SignInError(404, "OpenID Connect sign-in is not configured here")
        refusal = body_refusal(dict(request.scope["headers"]), MAX_BODY)
        if refusal is not None:
            raise SignInError(*refusal)
        try:
            parsed = await request.json()
        except ValueError:
            raise SignInError(400, "the request body is not JSON") from None
        code, verifier, redirect = check_exchange(parsed)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect,
            "client_id": self._client_id,
            **({"client_secret": self._secret} if self._secret else {}),
        }
        async with httpx.AsyncClient(timeout=10, transport=self._transport) as http:
            endpoints = await self._discovered(http)
            try:
                answer = await http.post(endpoints.token, data=form)
            except httpx.HTTPError as error:
                log.warning("oidc token request failed", error=str(error))
                raise SignInError(503, "the OpenID provider could not be reached") from None
        tokens = _json_object(answer)
        if answer.status_code != 200:
            # The provider's own words (RFC 6749 error and description): no secret in them.
            said = str(tokens.get("error_description") or tokens.get("error") or answer.status_code)
            raise SignInError(401, f"the OpenID provider refused the sign-in: {said[:300]}")
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError(502, "the OpenID provider answered no ID token")
        try:
            caller = await self._authenticator.oidc_caller(id_token)
        except ServiceError as error:
            raise SignInError(401, f"the provider's ID token was refused: {error}") from None
        return {"token": id_token, "username": caller.name}


def _json_object(answer: httpx.Response) -> dict[str, Any]:
    try:
        parsed = answer.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
