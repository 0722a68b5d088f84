"""Start, find and stop the stack's processes through pid files.

A pid file records the pid and the executable, so a stale file whose pid
the kernel has since reused for an unrelated program is never mistaken for
ours (and that program never signalled).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class StackError(RuntimeError):
    """A problem the user can fix; the message says how."""


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    # Run as this (unprivileged) user: PostgreSQL refuses to run as root.
    user: str | None = None
    # The one CPU all its threads run on (None: any).
    cpu: int | None = None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _has_exited(task_stat: Path) -> bool:
    try:
        stat = task_stat.read_text()
    except OSError:
        return True
    # The state letter follows the parenthesised command name.
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _threads_left(pid: int) -> int:
    """Threads of `pid` that have not exited yet, the leader included.

    A multi-threaded program killed by a signal can show its leader as a
    zombie (with no cmdline) while its other threads are still closing its
    files; its listening sockets are only free once the count is 0.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0
    return sum(not _has_exited(task / "stat") for task in tasks)


class Supervisor:
    def __init__(self, pid_dir: Path, log_dir: Path) -> None:
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _pid_path(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        """The pid of our running process `name`, or None (stale files removed)."""
        path = self._pid_path(name)
        try:
            record = json.loads(path.read_text())
            pid, exe = int(record["pid"]), str(record["exe"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        cmdline = _cmdline(pid)
        ours = bool(cmdline) and cmdline[0] == exe
        # An exiting leader has no cmdline left to check. Taking it for ours
        # can only be wrong if a stale pid file meets another program at the
        # moment it exits, and then we signal a process already going away.
        exiting = not cmdline and _has_exited(Path(f"/proc/{pid}/stat"))
        if (ours or exiting) and _threads_left(pid) > 0:
            return pid
        path.unlink(missing_ok=True)
        return None

    def start(self, spec: ProcessSpec) -> int:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **spec.env}
        with self.log_path(spec.name).open("ab") as log:
            log.write(f"\n=== {time.strftime('%F %T')} starting {' '.join(spec.argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    list(spec.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=spec.cwd,
                    env=env,
                    user=spec.user,
                    group=spec.user,
                    extra_groups=[] if spec.user else None,
                    # Own session: `make` exiting or Ctrl-C in the shell
                    # does not take the stack down with it.
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"{spec.name}: cannot start {spec.argv[0]}: {exc}") from exc
        if spec.cpu is not None:
            # Set while the program is still starting, before it has started
            # threads: every thread it starts inherits it.
            os.sched_setaffinity(proc.pid, {spec.cpu})
        # Until the child has exec'd, /proc shows the forked Python; wait for
        # the real program so the pid file check below cannot misfire.
        deadline = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < deadline:
            if _cmdline(proc.pid)[:1] == [spec.argv[0]]:
                break
            time.sleep(0.01)
        self._pid_path(spec.name).write_text(
            json.dumps({"pid": proc.pid, "exe": spec.argv[0], "argv": list(spec.argv)})
        )
        return proc.pid

    def stop(self, name: str, timeout: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`. True if something was stopped."""
        pid = self.pid(name)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(name) is None:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        self._pid_path(name).unlink(missing_ok=True)
        return True

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
