"""The local stack's mesh PKI: a CA made on the first `make up` and kept
under the state directory (like secrets.json), and one certificate per mesh
identity, issued again by `make up` when missing, about to expire or not
signed by the CA. Services get their own files only (SIMPIPE_TLS_*)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from simpipe_common.mesh_pki import (
    LOCAL_HOSTS,
    Authority,
    certificate_names,
    expires_at,
    issued_by,
    key_matches,
)

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# `make up` renews a certificate this long before it expires.
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """One identity's PEM files."""

    ca: Path
    cert: Path
    key: Path

    def env(self) -> dict[str, str]:
        """The settings a service reads them from."""
        return {
            "SIMPIPE_TLS_CA_FILE": str(self.ca),
            "SIMPIPE_TLS_CERT_FILE": str(self.cert),
            "SIMPIPE_TLS_KEY_FILE": str(self.key),
        }


def _write_private(path: Path, data: bytes) -> None:
    """Written whole (a reader never sees half a key), readable by its owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


@dataclass(frozen=True)
class MeshPki:
    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def _ca_key_file(self) -> Path:
        return self.directory / "ca-key.pem"

    def files(self, identity: str) -> TlsFiles:
        return TlsFiles(
            self.ca_file, self.directory / f"{identity}.pem", self.directory / f"{identity}-key.pem"
        )

    def authority(self) -> Authority:
        """The stack's CA (made by `ensure`), to issue certificates with
        other names than the local ones (the services' pods')."""
        self.ensure(())
        return Authority(self.ca_file.read_bytes(), self._ca_key_file.read_bytes())

    def ensure(self, identities: Iterable[str]) -> list[str]:
        """Makes the CA if there is none, and each identity's certificate
        unless a fitting one is there; returns what it made."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        made = []
        if self.ca_file.exists() and self._ca_key_file.exists():
            authority = Authority(self.ca_file.read_bytes(), self._ca_key_file.read_bytes())
        else:
            authority = Authority.create()
            _write_private(self._ca_key_file, authority.key_pem)
            _write_private(self.ca_file, authority.cert_pem)
            made.append("CA")
        for identity in identities:
            files = self.files(identity)
            if self._fits(files, identity, authority):
                continue
            issued = authority.issue(identity, LOCAL_HOSTS)
            _write_private(files.key, issued.key_pem)
            _write_private(files.cert, issued.cert_pem)
            made.append(identity)
        return made

    @staticmethod
    def _fits(files: TlsFiles, identity: str, authority: Authority) -> bool:
        if not (files.cert.exists() and files.key.exists()):
            return False
        cert = files.cert.read_bytes()
        return (
            issued_by(cert, authority.cert_pem)
            and key_matches(cert, files.key.read_bytes())
            and certificate_names(cert) == (identity, frozenset({identity, *LOCAL_HOSTS}))
            and expires_at(cert) - datetime.now(UTC) > RENEW_BEFORE
        )


def stack_pki(stack: Stack) -> MeshPki:
    return MeshPki(stack.layout.state / "pki")
