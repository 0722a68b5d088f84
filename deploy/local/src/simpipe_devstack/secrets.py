"""Credentials of the local stack: generated once per state directory.

Nothing is baked into the code: the first `make up` draws random values and
keeps them (mode 0600) beside the data they protect.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Secrets:
    s3_access_key: str
    s3_secret_key: str
    postgres_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        if path.exists():
            return cls(**json.loads(path.read_text()))
        created = cls(
            s3_access_key="simpipe-" + secrets.token_hex(4),
            s3_secret_key=secrets.token_urlsafe(24),
            postgres_password=secrets.token_urlsafe(18),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(created), out)
        return created
