from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

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
