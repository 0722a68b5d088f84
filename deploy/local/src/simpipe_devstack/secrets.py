"""Credentials of the local stack: generated once per state directory.

Nothing is baked into the code: the first `make up` draws random values and
keeps them (mode 0600) beside the data they protect. A value added in a
later version is drawn when first needed and saved with the others.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from simpipe_devstack.mesh_users import NATS_USERS

# The local stack's gateway knows two users, so isolation between users can
# be tried (and tested) locally.
LOCAL_USERS = ("local-dev", "local-guest")


def _token() -> str:
    return "sp-" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Secrets:
    s3_access_key: str = field(default_factory=lambda: "simpipe-" + secrets.token_hex(4))
    s3_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # user -> bearer token for the gateway
    api_tokens: dict[str, str] = field(
        default_factory=lambda: {user: _token() for user in LOCAL_USERS}
    )

    # SFTPGo (components/sftpgo.py): its admin and the one user who reaches
    # the uploads bucket over SFTP and WebDAV. Keys: admin_user,
    # admin_password, user, password.
    sftpgo: dict[str, str] = field(
        default_factory=lambda: {
            "admin_user": "admin-" + secrets.token_hex(3),
            "admin_password": secrets.token_urlsafe(18),
            "user": "sftp-" + secrets.token_hex(3),
            "password": secrets.token_urlsafe(18),
        }
    )

    # The private registry (components/registry.py): its one login.
    registry: dict[str, str] = field(
        default_factory=lambda: {
            "user": "registry-" + secrets.token_hex(3),
            "password": secrets.token_urlsafe(18),
        }
    )

    # NATS (components/nats.py): a password per user of the mesh's NATS.
    nats_passwords: dict[str, str] = field(
        default_factory=lambda: {user: secrets.token_urlsafe(24) for user in NATS_USERS}
    )

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        known = {f.name for f in fields(cls)}
        stored = json.loads(path.read_text()) if path.exists() else {}
        loaded = cls(**{k: v for k, v in stored.items() if k in known})
        # A NATS user added in a later version gets its password now.
        new_users = [u for u in NATS_USERS if u not in loaded.nats_passwords]
        if new_users:
            drawn = {user: secrets.token_urlsafe(24) for user in new_users}
            loaded = replace(loaded, nats_passwords={**loaded.nats_passwords, **drawn})
        if set(stored) != known or new_users:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(asdict(loaded), out)
            path.with_suffix(".tmp").replace(path)
        return loaded

    def gateway_tokens_setting(self) -> str:
        """SIMPIPE_API_TOKENS for the gateway: token=user pairs."""
        return ",".join(f"{token}={user}" for user, token in self.api_tokens.items())
