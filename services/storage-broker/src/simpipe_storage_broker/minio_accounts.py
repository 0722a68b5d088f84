"""Project credentials on MinIO: one service account of the root user per
project, whose inline policy limits it to the project's storage (a service
account can do only what both its parent and its policy allow).

Its keys are derived, not stored: the access key from the scope, the secret
with an HMAC keyed by the root secret. So any broker replica, before or
after a restart, returns the same keys without a store of its own, and
rotating the root secret rotates them all (on each project's next issue).
MinIO's admin API (the `minio` package's MinioAdmin) is blocking and
encrypts every body with Argon2id (64 MiB): calls run in a thread, one at a
time, and only when a project's policy or keys change.
"""

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider
from minio.error import MinioAdminException
from urllib3 import PoolManager, Retry, Timeout
from urllib3.exceptions import HTTPError

from simpipe_common.errors import FailedPreconditionError, ServiceError, UnavailableError
from simpipe_common.settings import S3Settings
from simpipe_storage_broker.project_credentials import IssuedKey, ProjectScope

log = structlog.get_logger(__name__)

# MinIO's limit on a service account's policy (maxSVCSessionPolicySize).
MAX_POLICY_BYTES = 4096
# MinIO's service-account access keys are at most 20 characters.
ACCESS_KEY_PREFIX = "sp"
ACCESS_KEY_LENGTH = 20
# MinIO's secret keys are at most 40 characters.
SECRET_KEY_LENGTH = 40


class ServiceAccountAdmin(Protocol):
    """What is used of MinioAdmin (tests stand in for it)."""

    def add_service_account(
        self, *, access_key: str, secret_key: str, description: str, policy: dict[str, Any]
    ) -> str: ...

    def update_service_account(
        self, *, access_key: str, secret_key: str, policy: dict[str, Any]
    ) -> str: ...

    def delete_service_account(self, access_key: str) -> str: ...

    def list_service_account(self, user: str) -> str: ...


def minio_admin(settings: S3Settings, timeout: float) -> MinioAdmin:
    """MinioAdmin of the S3 endpoint (MinIO serves its admin API on the same
    port) as the root user; `timeout` bounds connecting and each read."""
    url = urlsplit(settings.s3_endpoint)
    return MinioAdmin(
        endpoint=url.netloc,
        credentials=StaticProvider(
            settings.s3_access_key, settings.s3_secret_key.get_secret_value()
        ),
        region=settings.s3_region,
        secure=url.scheme == "https",
        # The caller retries (issuing is idempotent): no retries hidden here.
        http_client=PoolManager(timeout=Timeout(connect=timeout, read=timeout), retries=Retry(0)),
    )


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


@dataclass
class MinioServiceAccounts:
    admin: ServiceAccountAdmin
    # The parent of the service accounts (the root user's access key).
    parent: str
    # Keys the secrets' HMAC (the root secret key).
    secret_seed: bytes
    # Digest of what each access key was last given: repeated issues of an
    # unchanged project make no admin call.
    _applied: dict[str, str] = field(default_factory=dict)
    _admin_calls: asyncio.Lock = field(default_factory=asyncio.Lock)

    def keys(self, scope: ProjectScope) -> IssuedKey:
        identity = f"{scope.owner_hash}\0{scope.name}".encode()
        access = hashlib.sha256(identity).hexdigest()[: ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX)]
        secret = hmac.new(self.secret_seed, identity, hashlib.sha256).hexdigest()
        return IssuedKey(ACCESS_KEY_PREFIX + access, secret[:SECRET_KEY_LENGTH])

    async def issue(self, scope: ProjectScope, policy: dict[str, Any]) -> IssuedKey:
        key = self.keys(scope)
        text = policy_text(policy)
        if len(text.encode()) > MAX_POLICY_BYTES:
            raise FailedPreconditionError(
                "the project's S3 policy is too large for MinIO: it names every bucket of the"
                " owner's as readable input; delete buckets no longer used",
                reason="too-many-buckets",
            )
        digest = hashlib.sha256(f"{key.secret_key}\0{text}".encode()).hexdigest()
        async with self._admin_calls:
            if self._applied.get(key.access_key) != digest:
                description = f"SIM-PIPE steps of {scope.name} of owner {scope.owner_hash}"
                await self._call(self._put, key, policy, description)
                self._applied[key.access_key] = digest
        return key

    def _put(self, key: IssuedKey, policy: dict[str, Any], description: str) -> None:
        try:
            self.admin.add_service_account(
                access_key=key.access_key,
                secret_key=key.secret_key,
                description=description,
                policy=policy,
            )
        except MinioAdminException as refused:
            # Made before (or by a concurrent replica): brought up to date.
            # Were the add refused for another reason, so is the update: its
            # error goes on with the add's as its cause.
            try:
                self.admin.update_service_account(
                    access_key=key.access_key, secret_key=key.secret_key, policy=policy
                )
            except MinioAdminException as also:
                raise also from refused

    async def revoke(self, scope: ProjectScope) -> None:
        access_key = self.keys(scope).access_key
        async with self._admin_calls:
            await self._call(self._delete, access_key)
            self._applied.pop(access_key, None)

    def _delete(self, access_key: str) -> None:
        try:
            self.admin.delete_service_account(access_key)
        except MinioAdminException:
            # Gone already is revoked; anything else is an error.
            if access_key in self._accounts():
                raise

    def _accounts(self) -> set[str]:
        listed = json.loads(self.admin.list_service_account(self.parent))
        # MinIO lists each account as an object; releases before 2023 as its key.
        return {
            a["accessKey"] if isinstance(a, dict) else str(a) for a in listed.get("accounts") or []
        }

    async def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            await asyncio.to_thread(fn, *args)
        except HTTPError as error:
            raise UnavailableError(f"MinIO's admin API cannot be reached: {error}") from None
        except MinioAdminException as error:
            cause = error.__cause__
            log.error("minio admin request failed", error=str(error), after=cause and str(cause))
            raise ServiceError("MinIO refused to manage a project's credentials") from None
