"""Project credentials as MinIO service accounts, over a stand-in for
MinioAdmin that keeps accounts as MinIO does (a second add of a key is
refused, deleting a missing one too)."""

import json
import time
from typing import Any

import pytest
from minio.error import MinioAdminException
from pydantic import SecretStr
from urllib3.exceptions import MaxRetryError

from simpipe_common.errors import FailedPreconditionError, ServiceError, UnavailableError
from simpipe_common.testing import UNREACHABLE_URL
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_storage_broker.minio_accounts import (
    MAX_POLICY_BYTES,
    MinioServiceAccounts,
    minio_admin,
)
from simpipe_storage_broker.project_credentials import ProjectScope

ALICE, BOB = "alice@example.org", "bob"
POLICY: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}


class FakeAdmin:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.down = False

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise MaxRetryError(None, "/minio/admin/v3")  # type: ignore[arg-type]

    def add_service_account(
        self, *, access_key: str, secret_key: str, description: str, policy: dict[str, Any]
    ) -> str:
        self._call("add")
        if access_key in self.accounts:
            raise MinioAdminException("409", "XMinioAdminServiceAccountExists")
        self.accounts[access_key] = {"secret": secret_key, "policy": policy, "about": description}
        return "{}"

    def update_service_account(
        self, *, access_key: str, secret_key: str, policy: dict[str, Any]
    ) -> str:
        self._call("update")
        if access_key not in self.accounts:
            raise MinioAdminException("404", "XMinioAdminNoSuchServiceAccount")
        self.accounts[access_key].update(secret=secret_key, policy=policy)
        return ""

    def delete_service_account(self, access_key: str) -> str:
        self._call("delete")
        if self.accounts.pop(access_key, None) is None:
            raise MinioAdminException("404", "XMinioAdminNoSuchServiceAccount")
        return ""

    def list_service_account(self, user: str) -> str:
        self._call("list")
        return json.dumps({"accounts": [{"accessKey": k} for k in self.accounts]})


def accounts(admin: FakeAdmin, seed: bytes = b"root-secret") -> MinioServiceAccounts:
    return MinioServiceAccounts(admin=admin, parent="root", secret_seed=seed)


def policy_of(bucket: str) -> dict[str, Any]:
    return {**POLICY, "Statement": [{"Effect": "Allow", "Resource": [bucket]}]}


async def test_each_scope_gets_its_own_stable_keys_within_minios_limits() -> None:
    issuer = accounts(FakeAdmin())
    scopes = [ProjectScope(ALICE, "p"), ProjectScope(ALICE, ""), ProjectScope(BOB, "p")]
    keys = [issuer.keys(s) for s in scopes]
    assert len({k.access_key for k in keys}) == len({k.secret_key for k in keys}) == 3
    assert all(len(k.access_key) <= 20 and 8 <= len(k.secret_key) <= 40 for k in keys)
    assert accounts(FakeAdmin()).keys(scopes[0]) == keys[0]  # another replica, same keys
    rotated = accounts(FakeAdmin(), seed=b"new-root-secret").keys(scopes[0])
    assert rotated.access_key == keys[0].access_key
    assert rotated.secret_key != keys[0].secret_key


async def test_issue_makes_the_account_then_only_calls_minio_on_change() -> None:
    admin = FakeAdmin()
    issuer = accounts(admin)
    scope = ProjectScope(ALICE, "p")
    key = await issuer.issue(scope, policy_of("a"))
    assert admin.accounts[key.access_key]["secret"] == key.secret_key
    assert admin.accounts[key.access_key]["policy"] == policy_of("a")
    assert "p of owner" in admin.accounts[key.access_key]["about"]
    assert await issuer.issue(scope, policy_of("a")) == key
    assert admin.calls == ["add"]
    await issuer.issue(scope, policy_of("b"))
    assert admin.calls == ["add", "add", "update"]
    assert admin.accounts[key.access_key]["policy"] == policy_of("b")


async def test_another_replica_brings_an_existing_account_up_to_date() -> None:
    admin = FakeAdmin()
    scope = ProjectScope(ALICE, "p")
    await accounts(admin).issue(scope, policy_of("a"))
    key = await accounts(admin).issue(scope, policy_of("b"))
    assert admin.accounts[key.access_key]["policy"] == policy_of("b")


async def test_a_policy_over_minios_limit_is_refused_before_asking_it() -> None:
    admin = FakeAdmin()
    huge = policy_of("x" * MAX_POLICY_BYTES)
    with pytest.raises(FailedPreconditionError) as refused:
        await accounts(admin).issue(ProjectScope(ALICE, "p"), huge)
    assert refused.value.reason == "too-many-buckets"
    assert admin.calls == []


async def test_revoke_deletes_the_account_and_revoking_none_succeeds() -> None:
    admin = FakeAdmin()
    issuer = accounts(admin)
    scope = ProjectScope(ALICE, "p")
    await issuer.issue(scope, POLICY)
    await issuer.revoke(scope)
    assert admin.accounts == {}
    await issuer.revoke(scope)
    assert admin.calls == ["add", "delete", "delete", "list"]
    # Revoked keys are made again on the next issue, not taken as applied.
    await issuer.issue(scope, POLICY)
    assert len(admin.accounts) == 1


async def test_minio_down_is_unavailable_and_a_refusal_an_error() -> None:
    admin = FakeAdmin()
    admin.down = True
    with pytest.raises(UnavailableError):
        await accounts(admin).issue(ProjectScope(ALICE, "p"), POLICY)

    class Refusing(FakeAdmin):
        def update_service_account(self, **_: Any) -> str:
            raise MinioAdminException("403", "AccessDenied")

    refusing = Refusing()
    issuer = accounts(refusing)
    await issuer.issue(ProjectScope(ALICE, "p"), POLICY)
    with pytest.raises(ServiceError):
        await issuer.issue(ProjectScope(ALICE, "p"), policy_of("changed"))


async def test_the_real_admin_client_fails_fast_where_minio_is_not() -> None:
    """MinioAdmin as the broker makes it, on the S3 endpoint: a closed port
    is UNAVAILABLE at once (no retries hidden in the client)."""
    settings = StorageBrokerSettings(
        s3_endpoint=UNREACHABLE_URL, s3_access_key="root", s3_secret_key=SecretStr("root-secret")
    )
    issuer = MinioServiceAccounts(minio_admin(settings, 2), "root", b"root-secret")
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        await issuer.issue(ProjectScope(ALICE, "p"), POLICY)
    with pytest.raises(UnavailableError):
        await issuer.revoke(ProjectScope(ALICE, "p"))
    assert time.monotonic() - started < 10
