"""Can this machine run the real node? Checked once per command, with no
lasting side effects; the answer is a reason when it cannot, so `make up`
can say it plainly and bring up the KWOK-only stack instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

# Debian's packages (build.sh build_node_packages).
CONTAINERD = Path("/usr/bin/containerd")
CTR = Path("/usr/bin/ctr")
RUNC = Path("/usr/sbin/runc")
RUNSC = Path("/usr/bin/runsc")
CNI_BIN_DIR = Path("/usr/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# What the kubelet's cgroupfs driver needs on a cgroup v1 machine.
CGROUP_V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")

OFF_SWITCH = "SIMPIPE_REAL_NODE"


def _cgroup_problem() -> str | None:
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return "this machine has a cgroup v2 hierarchy; the real node is set up for cgroup v1"
    missing = [c for c in CGROUP_V1_CONTROLLERS if not (CGROUP_ROOT / c / "tasks").exists()]
    if missing:
        return f"cgroup v1 controllers not mounted under {CGROUP_ROOT}: {', '.join(missing)}"
    # Mounted is not enough (e.g. read-only in a container): make and
    # remove a cgroup where the kubelet will make pods'.
    probe = CGROUP_ROOT / "memory" / f"simpipe-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return f"cannot create a memory cgroup ({exc.strerror})"
    return None


def _namespace_problem() -> str | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare (util-linux) is missing"
    result = subprocess.run(
        [unshare, "--net", "--pid", "--mount", "--fork", "true"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if result.returncode != 0:
        return f"cannot create network/PID/mount namespaces: {result.stderr.strip()}"
    return None


def real_node_problem(required_binaries: dict[str, Path]) -> str | None:
    """Why the real node cannot run here, or None if it can."""
    if os.environ.get(OFF_SWITCH, "").lower() in ("0", "off", "false", "no"):
        return f"{OFF_SWITCH}={os.environ[OFF_SWITCH]}"
    if os.geteuid() != 0:
        return "not running as root (containerd, the kubelet and pod networking need it)"
    packages = {
        "containerd": CONTAINERD,
        "ctr": CTR,
        "runc": RUNC,
        "runsc": RUNSC,
        "CNI bridge plugin": CNI_BIN_DIR / "bridge",
        "CNI host-local plugin": CNI_BIN_DIR / "host-local",
    }
    tools = {name: shutil.which(name) for name in ("ip", "iptables")}
    missing = [f"{name} ({path})" for name, path in packages.items() if not path.exists()]
    missing += [name for name, found in tools.items() if found is None]
    if missing:
        return (
            f"missing {', '.join(missing)}: run `make build` as root (it installs containerd, "
            "runc, runsc, containernetworking-plugins, iptables)"
        )
    unbuilt = [f"{name} ({path})" for name, path in required_binaries.items() if not path.is_file()]
    if unbuilt:
        return f"missing binaries {', '.join(unbuilt)}: run `make build`"
    return _cgroup_problem() or _namespace_problem()
