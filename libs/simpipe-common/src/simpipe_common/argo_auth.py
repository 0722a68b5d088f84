"""The Authorization header for the Argo server in client auth mode: a
Kubernetes ServiceAccount token, read from a file.

The Argo server passes the token on to the Kubernetes API with every request,
so the service can do through Argo only what its ServiceAccount's RBAC
allows. Tokens expire and are replaced while the service runs: in a pod the
kubelet rewrites the projected token file long before it expires; the local
stack mints a new one when it starts the Argo server. So the file is read
again whenever it changed, and on demand after Argo answered 401 (the token
was replaced between two looks at the file, or had just expired).
"""

import os
from pathlib import Path

from simpipe_common.errors import UnavailableError


class ArgoToken:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        # What the file was when last read (inode, mtime, size): the kubelet
        # swaps a symlink to a new file, the local stack renames a new file
        # into place; either changes this.
        self._seen: tuple[int, int, int] | None = None
        self._header: str | None = None

    def header(self) -> str | None:
        """`Bearer <token>`; None without a token file (Argo's `server` auth
        mode, where the server acts with its own identity)."""
        if self._path is None:
            return None
        stat = self._stat(self._path)
        if (stat.st_ino, stat.st_mtime_ns, stat.st_size) != self._seen:
            self._read(self._path)
        return self._header

    def replaced(self, used: str | None) -> bool:
        """After Argo refused `used` (a header() of before): read the file
        again whatever its look, and say whether it now holds another token,
        i.e. whether the refused request is worth sending again. Compared
        with what that request sent, not with the last read: a concurrent
        request may have read the new token meanwhile."""
        if self._path is None:
            return False
        self._read(self._path)
        return self._header != used

    def _read(self, path: Path) -> None:
        stat = self._stat(path)
        try:
            token = path.read_text().strip()
        except OSError as error:
            raise UnavailableError(f"the Argo token file {path} cannot be read: {error}") from None
        if not token:
            raise UnavailableError(f"the Argo token file {path} is empty")
        # It goes into an HTTP header as it is.
        if any(c.isspace() or not c.isprintable() for c in token):
            raise UnavailableError(f"the Argo token file {path} holds more than one token")
        self._seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        self._header = f"Bearer {token}"

    @staticmethod
    def _stat(path: Path) -> os.stat_result:
        try:
            return path.stat()
        except OSError as error:
            raise UnavailableError(f"the Argo token file {path} cannot be read: {error}") from None
