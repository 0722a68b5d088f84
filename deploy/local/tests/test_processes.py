from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest

from simpipe_devstack.processes import ProcessSpec, Supervisor


def sleeper(name: str) -> ProcessSpec:
    sleep = shutil.which("sleep")
    assert sleep
    return ProcessSpec(name, [sleep, "30"])


def test_started_process_is_found_then_stopped(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "pids", tmp_path / "logs")
    pid = sup.start(sleeper("napper"))
    assert sup.pid("napper") == pid
    assert sup.stop("napper")
    assert sup.pid("napper") is None
    assert not sup.stop("napper"), "stopping twice must be harmless"
    assert "starting" in sup.log_path("napper").read_text()


def test_pid_file_of_another_program_is_ignored_not_signalled(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "pids", tmp_path / "logs")
    (tmp_path / "pids").mkdir()
    # Our own pid, recorded as if it were some other executable.
    pid_file = tmp_path / "pids" / "ghost.pid"
    pid_file.write_text(json.dumps({"pid": os.getpid(), "exe": "/usr/bin/not-this"}))
    assert sup.pid("ghost") is None
    assert not pid_file.exists()
    assert not sup.stop("ghost")


def test_garbage_pid_file_is_treated_as_not_running(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "pids", tmp_path / "logs")
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "junk.pid").write_text("not json")
    assert sup.pid("junk") is None


def test_a_process_given_a_cpu_runs_there(tmp_path: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    sup = Supervisor(tmp_path / "pids", tmp_path / "logs")
    spec = sleeper("pinned")
    pid = sup.start(ProcessSpec(spec.name, spec.argv, cpu=cpu))
    try:
        assert os.sched_getaffinity(pid) == {cpu}
    finally:
        sup.stop("pinned")


# The main thread leaves with the raw exit syscall (only that thread ends, as
# when a signal reaches a Go program's leader first) while another thread
# keeps a listening socket open until told to let go.
_LEADER_EXITS_FIRST = """
import ctypes, socket, sys, threading, pathlib
release = pathlib.Path(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
pathlib.Path(sys.argv[2]).write_text(str(listener.getsockname()[1]))
def hold():
    while not release.exists():
        threading.Event().wait(0.02)
    listener.close()
    ctypes.CDLL(None).syscall(60, 0)
threading.Thread(target=hold).start()
ctypes.CDLL(None).syscall(60, 0)
"""


def test_a_process_whose_leader_exited_runs_until_its_last_thread_is_gone(
    tmp_path: Path,
) -> None:
    release, port_file = tmp_path / "release", tmp_path / "port"
    sup = Supervisor(tmp_path / "pids", tmp_path / "logs")
    argv = [sys.executable, "-c", _LEADER_EXITS_FIRST, str(release), str(port_file)]
    pid = sup.start(ProcessSpec("halfgone", argv))
    deadline = time.monotonic() + 10
    while not (port_file.exists() and _leader_is_zombie(pid)):
        assert time.monotonic() < deadline, "the leader never exited"
        time.sleep(0.02)
    port = int(port_file.read_text())
    # Its port is still taken, so it must still count as running.
    assert sup.pid("halfgone") == pid
    with socket.socket() as probe, pytest.raises(OSError, match="in use"):
        probe.bind(("127.0.0.1", port))
    release.touch()
    while sup.pid("halfgone") is not None:
        assert time.monotonic() < deadline, "the last thread never exited"
        time.sleep(0.02)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def _leader_is_zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "Z"
