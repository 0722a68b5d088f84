"""The local stack's NATS: one user per service and the users beside them,
each with the permissions of simpipe_events.permissions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from simpipe_devstack.components.nats import Nats, nats_user_env, permissions_of
from simpipe_devstack.layout import Layout
from simpipe_devstack.mesh_users import NATS_USERS
from simpipe_devstack.secrets import Secrets
from simpipe_devstack.stack import Stack
from simpipe_events.permissions import service_permissions


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("SIMPIPE_CACHE", str(tmp_path / "cache"))
    stack = Stack(Layout.from_env(), out=lambda _: None)
    stack.layout.generated.mkdir(parents=True)
    return stack


def authorization_of(config: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(config.partition("authorization: ")[2])
    return found


def test_every_user_has_a_password_and_its_permissions(stack: Stack) -> None:
    Nats().prepare(stack)
    path = Path(Nats().config_path(stack))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it holds the passwords"
    users = authorization_of(path.read_text())["users"]
    assert isinstance(users, list)
    assert [u["user"] for u in users] == list(NATS_USERS)
    for user in users:
        assert user["password"] == stack.secrets.nats_passwords[user["user"]]
        assert user["permissions"] == permissions_of(user["user"]).config()
    gateway = next(u for u in users if u["user"] == "gateway")
    assert gateway["permissions"] == service_permissions("gateway").config()
    assert len({u["password"] for u in users}) == len(users)


def test_a_user_reads_its_password_from_its_settings(stack: Stack) -> None:
    assert nats_user_env(stack, "storage-broker") == {
        "SIMPIPE_NATS_USER": "storage-broker",
        "SIMPIPE_NATS_PASSWORD": stack.secrets.nats_passwords["storage-broker"],
    }


def test_an_unknown_user_has_no_permissions() -> None:
    with pytest.raises(ValueError, match="no NATS user"):
        permissions_of("someone")


def test_a_user_added_later_gets_a_password_and_the_others_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = Secrets.load_or_create(path)
    stored = json.loads(path.read_text())
    del stored["nats_passwords"]["reader"]
    path.write_text(json.dumps(stored))
    again = Secrets.load_or_create(path)
    assert set(again.nats_passwords) == set(NATS_USERS)
    assert again.nats_passwords["gateway"] == first.nats_passwords["gateway"]
    assert again.nats_passwords["reader"] != first.nats_passwords["reader"]
    assert json.loads(path.read_text())["nats_passwords"] == again.nats_passwords
