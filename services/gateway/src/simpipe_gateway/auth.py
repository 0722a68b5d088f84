"""Who is calling. A bearer token is one of three kinds, each its own
namespace of user names, so that no kind can act as a user of another:

- a bootstrap API token of the settings (SIMPIPE_API_TOKENS): the user it
  names, which may not contain ':' (the local stack's `local-dev`,
  `local-guest`);
- an access token a user created (access_tokens): it acts as that user;
- an OIDC JWT checked against the provider's JWKS, issuer and audience: the
  user `oidc:<claim value>`, never equal to a bootstrap user's name.

No valid token, no user. A caller stays valid only while its credential
does: a revoked or expired access token, or an expired JWT, ends it.
"""

import asyncio
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
import structlog

from simpipe_common.errors import UnauthenticatedError, UnavailableError
from simpipe_gateway.access_tokens import TOKEN_PREFIX, AccessTokenStore
from simpipe_gateway.config import GatewaySettings

log = structlog.get_logger(__name__)
MIN_TOKEN_LENGTH = 16
OIDC_PREFIX = "oidc:"


def parse_api_tokens(spec: str) -> dict[str, str]:
    """'token=user,token2=user2' -> {token: user}; refuses weak or malformed entries."""
    tokens: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        token, sep, user = entry.partition("=")
        if not sep or not user:
            raise ValueError("SIMPIPE_API_TOKENS entries must be token=user")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"API tokens must have at least {MIN_TOKEN_LENGTH} characters")
        if ":" in user:
            # ':' marks the other namespaces (oidc:...).
            raise ValueError("SIMPIPE_API_TOKENS user names may not contain ':'")
        tokens[token] = user
    return tokens


@dataclass(frozen=True)
class Caller:
    # The user objects are owned by and looked up for.
    name: str
    # A stored access token's id, when that is the credential.
    token_id: str | None = None
    # When the credential expires (unix seconds), if it does.
    expires_at: float | None = None

    @property
    def may_lapse(self) -> bool:
        """Whether revocation or expiry can end this credential (a bootstrap
        token's cannot while the gateway runs)."""
        return self.token_id is not None or self.expires_at is not None


@dataclass
class Authenticator:
    api_tokens: Mapping[str, str]
    jwks: jwt.PyJWKClient | None
    issuer: str
    audience: str
    user_claim: str
    dev_user: str | None
    store: AccessTokenStore | None = None

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, store: AccessTokenStore | None
    ) -> "Authenticator":
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
            store=store,
        )

    async def caller(self, authorization: str | None) -> Caller | None:
        """The caller named by an Authorization header value; None without one.
        A token that is present but wrong raises: it is never silently anonymous."""
        if self.dev_user is not None:
            return Caller(self.dev_user)
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthenticatedError("use an 'Authorization: Bearer <token>' header")
        if token.startswith(TOKEN_PREFIX) and self.store is not None:
            return self._stored(token, self.store)
        for known, user in self.api_tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return Caller(user)
        if self.jwks is not None and token.count(".") == 2:
            return await asyncio.to_thread(self._jwt_caller, token)
        raise UnauthenticatedError("the bearer token is not valid")

    async def oidc_caller(self, token: str) -> Caller:
        """The user an OIDC ID token names, checked as a request's would be
        (the web GUI's sign-in answers only such a token)."""
        if self.jwks is None or token.count(".") != 2:
            raise UnauthenticatedError("OpenID Connect is not configured, or this is no JWT")
        return await asyncio.to_thread(self._jwt_caller, token)

    def still_valid(self, caller: Caller) -> bool:
        """Whether the credential `caller` came with still holds."""
        if caller.expires_at is not None and time.time() >= caller.expires_at:
            return False
        return caller.token_id is None or (
            self.store is not None and self.store.valid(caller.token_id)
        )

    @staticmethod
    def _stored(token: str, store: AccessTokenStore) -> Caller:
        found = store.find(token)
        if found is not None:
            expires = found.expires_at.timestamp() if found.expires_at else None
            return Caller(found.owner, token_id=found.id, expires_at=expires)
        if not store.synced.is_set():
            raise UnavailableError("access tokens are still being loaded; try again")
        raise UnauthenticatedError("the bearer token is not valid (revoked or expired?)")

    @staticmethod
    def _signing_key(jwks: jwt.PyJWKClient, token: str) -> jwt.PyJWK:
        """The JWKS key named by the token's `kid`; a token naming none (a
        provider with one key need not) takes the provider's only key."""
        if "kid" in jwt.get_unverified_header(token):
            return jwks.get_signing_key_from_jwt(token)
        keys = jwks.get_signing_keys()
        if len(keys) != 1:
            raise jwt.InvalidTokenError(
                f"the token names no key (kid); the provider has {len(keys)}"
            )
        return keys[0]

    def _jwt_caller(self, token: str) -> Caller:
        assert self.jwks is not None
        try:
            key = self._signing_key(self.jwks, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"the token was refused: {error}") from None
        user = claims.get(self.user_claim) or claims.get("sub")
        if not isinstance(user, str) or not user:
            raise UnauthenticatedError(f"the token has no '{self.user_claim}' or 'sub' claim")
        return Caller(OIDC_PREFIX + user, expires_at=float(claims["exp"]))
