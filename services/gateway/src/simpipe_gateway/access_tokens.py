"""API tokens that users create, list and revoke, kept as Kubernetes Secrets.

A token is `spat_` and 43 random URL-safe characters (256 bits), shown to its
creator once. At rest there is only its SHA-256 (a digest of that much
randomness cannot be turned back nor guessed), beside its owner, name and
expiry, in a Secret labelled LABEL_ACCESS_TOKEN in the services' namespace.

Every gateway replica keeps all of them in memory, by digest, from a list
then watch of those Secrets (token_watch); a Secret deleted on any replica
leaves every replica's memory as soon as its watch sees it. Looking a token
up is a dictionary read: no request waits for the apiserver, and a revoked
token is refused within the watch's delay.

A token acts as the user who created it: its owner. A caller signed in with
a stored token may list and revoke tokens but not create them, so a stolen
token cannot outlive its revocation through tokens of its own.
"""

import asyncio
import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from simpipe_common.errors import InvalidInputError, NotFoundError, PermissionDeniedError

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "spat_"
LABEL_ACCESS_TOKEN = "simpipe.io/access-token"
SECRET_TYPE = "simpipe.io/access-token"
SECRET_PREFIX = "simpipe-access-token-"
NAME_PATTERN = re.compile(r"[\w .:@/+-]{1,64}")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessToken:
    id: str
    owner: str
    name: str
    digest: str
    created_at: datetime
    expires_at: datetime | None

    @property
    def secret_name(self) -> str:
        return SECRET_PREFIX + self.id

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def to_secret(token: AccessToken) -> dict[str, Any]:
    """The Secret that keeps `token` (its digest, never the token)."""
    data = {
        "owner": token.owner,
        "name": token.name,
        "sha256": token.digest,
        "createdAt": token.created_at.isoformat(),
        "expiresAt": token.expires_at.isoformat() if token.expires_at else "",
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {"name": token.secret_name, "labels": {LABEL_ACCESS_TOKEN: "true"}},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def from_secret(secret: Mapping[str, Any]) -> AccessToken | None:
    """The token a Secret keeps; None for one that is not (or no longer) well formed."""
    name = str((secret.get("metadata") or {}).get("name", ""))
    try:
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        return AccessToken(
            id=name.removeprefix(SECRET_PREFIX),
            owner=data["owner"],
            name=data["name"],
            digest=data["sha256"],
            created_at=datetime.fromisoformat(data["createdAt"]),
            expires_at=datetime.fromisoformat(data["expiresAt"]) if data["expiresAt"] else None,
        )
    except (KeyError, ValueError) as error:
        log.warning("access token secret not understood", secret=name, error=repr(error))
        return None


class SecretWriter(Protocol):
    """Writes to the Secrets of the services' namespace (blocking calls)."""

    def create(self, secret: dict[str, Any]) -> None: ...

    def delete(self, name: str) -> None: ...


class AccessTokenStore:
    """The tokens as the watch last saw them, plus what this replica wrote."""

    def __init__(
        self,
        writer: SecretWriter,
        max_days: int,
        default_days: int,
        max_per_user: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._writer = writer
        self._max_days = max_days
        self._default_days = default_days
        self._max_per_user = max_per_user
        self._now = now
        self._by_digest: dict[str, AccessToken] = {}
        self._by_id: dict[str, AccessToken] = {}
        self.synced = asyncio.Event()
        self._removed = asyncio.Event()

    # The watch's view (token_watch calls these on the event loop).
    def replace_all(self, secrets_now: Iterable[Mapping[str, Any]]) -> None:
        known = [t for t in map(from_secret, secrets_now) if t is not None]
        gone = set(self._by_id) - {t.id for t in known}
        self._by_digest = {t.digest: t for t in known}
        self._by_id = {t.id: t for t in known}
        self.synced.set()
        if gone:
            self._announce_removal()

    def put(self, secret: Mapping[str, Any]) -> None:
        token = from_secret(secret)
        if token is not None:
            self._by_digest[token.digest] = token
            self._by_id[token.id] = token

    def remove(self, secret: Mapping[str, Any]) -> None:
        name = str((secret.get("metadata") or {}).get("name", ""))
        self._forget(name.removeprefix(SECRET_PREFIX))

    def _forget(self, token_id: str) -> None:
        token = self._by_id.pop(token_id, None)
        if token is not None:
            self._by_digest.pop(token.digest, None)
            self._announce_removal()

    def _announce_removal(self) -> None:
        removed, self._removed = self._removed, asyncio.Event()
        removed.set()

    async def removal(self) -> None:
        """Returns when a token next leaves the store."""
        await self._removed.wait()

    # What requests ask.
    def find(self, token: str) -> AccessToken | None:
        """The live token `token` is, if any (never an expired one)."""
        found = self._by_digest.get(token_digest(token))
        return None if found is None or found.expired(self._now()) else found

    def valid(self, token_id: str) -> bool:
        found = self._by_id.get(token_id)
        return found is not None and not found.expired(self._now())

    def of_owner(self, owner: str) -> list[AccessToken]:
        return sorted(
            (t for t in self._by_id.values() if t.owner == owner), key=lambda t: t.created_at
        )

    async def create(
        self, owner: str, name: str, expires_in_days: int | None
    ) -> tuple[str, AccessToken]:
        """A new token of `owner`: (the token, its record). The token exists
        only in the answer."""
        if not NAME_PATTERN.fullmatch(name):
            raise InvalidInputError(
                "a token's name is 1 to 64 letters, digits, spaces or . : @ / + - _"
            )
        days = self._default_days if expires_in_days is None else expires_in_days
        if not 1 <= days <= self._max_days:
            raise InvalidInputError(f"expiresInDays must be between 1 and {self._max_days}")
        if len(self.of_owner(owner)) >= self._max_per_user:
            raise InvalidInputError(
                f"you hold {self._max_per_user} access tokens, the most there may be:"
                " revoke one first"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._now().replace(microsecond=0)
        record = AccessToken(
            id=secrets.token_hex(8),
            owner=owner,
            name=name,
            digest=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        secret = to_secret(record)
        await asyncio.to_thread(self._writer.create, secret)
        # Usable here at once; the other replicas learn it from their watch.
        self.put(secret)
        log.info("access token created", owner=owner, token_id=record.id, name=name)
        return token, record

    async def revoke(self, owner: str, token_id: str) -> None:
        found = self._by_id.get(token_id)
        if found is None or found.owner != owner:
            raise NotFoundError(f"you have no access token {token_id!r}")
        await asyncio.to_thread(self._writer.delete, found.secret_name)
        self._forget(token_id)
        log.info("access token revoked", owner=owner, token_id=token_id)


def refuse_token_minting() -> PermissionDeniedError:
    return PermissionDeniedError(
        "an access token cannot create access tokens: sign in with your own credentials"
    )
