"""Who is calling: a bearer token is either a configured API token or an
OIDC JWT checked against the provider's JWKS. No valid token, no user."""

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
import structlog

from simpipe_common.errors import UnauthenticatedError
from simpipe_gateway.config import GatewaySettings

log = structlog.get_logger(__name__)
MIN_TOKEN_LENGTH = 16


def parse_api_tokens(spec: str) -> dict[str, str]:
    """'token=user,token2=user2' -> {token: user}; refuses weak or malformed entries."""
    tokens: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        token, sep, user = entry.partition("=")
        if not sep or not user:
            raise ValueError("SIMPIPE_API_TOKENS entries must be token=user")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"API tokens must have at least {MIN_TOKEN_LENGTH} characters")
        tokens[token] = user
    return tokens


@dataclass
class Authenticator:
    api_tokens: Mapping[str, str]
    jwks: jwt.PyJWKClient | None
    issuer: str
    audience: str
    user_claim: str
    dev_user: str | None

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "Authenticator":
        if settings.auth_disabled:
            log.warning(
                "AUTHENTICATION IS DISABLED (SIMPIPE_AUTH_DISABLED): every request acts as"
                f" '{settings.dev_user}'. For local development only."
            )
        return cls(
            api_tokens=parse_api_tokens(settings.api_tokens.get_secret_value()),
            jwks=jwt.PyJWKClient(settings.oidc_jwks_url) if settings.oidc_jwks_url else None,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            user_claim=settings.oidc_user_claim,
            dev_user=settings.dev_user if settings.auth_disabled else None,
        )

    async def user(self, authorization: str | None) -> str | None:
        """The caller named by an Authorization header value; None without one.
        A token that is present but wrong raises: it is never silently anonymous."""
        if self.dev_user is not None:
            return self.dev_user
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthenticatedError("use an 'Authorization: Bearer <token>' header")
        for known, user in self.api_tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        if self.jwks is not None and token.count(".") == 2:
            return await asyncio.to_thread(self._jwt_user, token)
        raise UnauthenticatedError("the bearer token is not valid")

    def _jwt_user(self, token: str) -> str:
        assert self.jwks is not None
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"],
                audience=self.audience or None,
                issuer=self.issuer or None,
                options={"require": ["exp", "iat"], "verify_aud": bool(self.audience)},
            )
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"the token was refused: {error}") from None
        user = claims.get(self.user_claim) or claims.get("sub")
        if not isinstance(user, str) or not user:
            raise UnauthenticatedError(f"the token has no '{self.user_claim}' or 'sub' claim")
        return user
