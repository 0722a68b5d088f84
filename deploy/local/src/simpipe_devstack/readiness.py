"""Port checks and readiness waits for the stack's components."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from simpipe_devstack.processes import StackError


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now (bound as Go and most
    servers bind: SO_REUSEADDR, so connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_holder(port: int) -> str:
    """Best-effort description of who listens on `port` (for error messages)."""
    target = f":{port:04X}"
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]  # noqa: SIM115
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # state 0A is LISTEN
            if cols[1].endswith(target) and cols[3] == "0A":
                inodes.add(cols[9])
    if not inodes:
        return "another process"
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        if inodes & _socket_inodes(fd_dir):
            try:
                raw = (fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                raw = b"?"
            cmd = " ".join(raw.decode(errors="replace").split())
            return f"pid {fd_dir.parent.name} ({cmd[:80]})"
    return "another process"


def wait_until(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    on_failure: Callable[[], str] = lambda: "",
) -> None:
    """Poll `check` until it holds; fail fast if the process died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError):
            pass
        if not alive():
            raise StackError(f"{what} exited during start-up:\n{on_failure()}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready after {timeout:.0f}s:\n{on_failure()}")
        time.sleep(0.2)


def http_ok(url: str, **kwargs: object) -> Callable[[], bool]:
    def check() -> bool:
        return httpx.get(url, timeout=2.0, **kwargs).status_code == 200  # type: ignore[arg-type]

    return check


def service_started(url: str) -> Callable[[], bool]:
    """A service's /health answers 200 and lists nothing as still starting
    (e.g. its event subscribers: a test right after `make up` relies on them)."""

    def check() -> bool:
        response = httpx.get(url, timeout=2.0)
        return response.status_code == 200 and "starting" not in response.json()

    return check


def _socket_inodes(fd_dir: Path) -> set[str]:
    """Socket inodes a process holds. File descriptors come and go while we
    look (a process, even this one, opens and closes files): one vanishing
    must not hide the others."""
    found: set[str] = set()
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return found
    for fd in fds:
        try:
            link = str(fd.readlink())
        except OSError:
            continue
        if link.startswith("socket:["):
            found.add(link[8:-1])
    return found
