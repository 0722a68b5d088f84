"""containerd (Debian) with its CRI plugin for the real node's kubelet:
a private configuration, root, state and socket under the stack's state
directory, runc for ordinary pods and gVisor's runsc for the `gvisor`
RuntimeClass, pods on the node network's bridge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.node_network import BRIDGE
from simpipe_devstack.layout import SERVICE_SUBNET
from simpipe_devstack.node_support import CNI_BIN_DIR, CONTAINERD, CTR, RUNC, RUNSC
from simpipe_devstack.processes import ProcessSpec, StackError

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# Images the kubelet's pods use live in this containerd namespace.
K8S_NAMESPACE = "k8s.io"
GVISOR_HANDLER = "gvisor"
# The pod sandbox's image, built here (node_images.py).
PAUSE_IMAGE = "simpipe.local/pause:1"


def containerd_dir(stack: Stack) -> Path:
    return stack.layout.data / "containerd"


def run_dir(stack: Stack) -> Path:
    return stack.layout.state / "run" / "containerd"


def socket_path(stack: Stack) -> Path:
    return run_dir(stack) / "containerd.sock"


def runsc_wrapper(stack: Stack) -> Path:
    return stack.layout.generated / "runsc-for-runc-shim"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def to_toml(tables: dict[str, dict[str, Any]]) -> str:
    """The flat subset of TOML containerd's config needs: top-level keys
    under "", then one [table] per key with scalar or list values."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in tables.get("", {}).items()]
    for table, values in tables.items():
        if table:
            lines += ["", f"[{table}]", *(f"  {k} = {_toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def containerd_config(stack: Stack) -> dict[str, dict[str, Any]]:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    runtimes = f"{cri}.containerd.runtimes"
    state = run_dir(stack)
    return {
        "": {
            "version": 2,
            "root": str(containerd_dir(stack) / "root"),
            "state": str(state / "state"),
            # Nothing but the CRI plugin's needs: no btrfs/zfs/devmapper/aufs probing.
            "disabled_plugins": [
                "io.containerd.snapshotter.v1.aufs",
                "io.containerd.snapshotter.v1.btrfs",
                "io.containerd.snapshotter.v1.devmapper",
                "io.containerd.snapshotter.v1.zfs",
            ],
        },
        "grpc": {"address": str(socket_path(stack))},
        "ttrpc": {"address": str(state / "containerd.sock.ttrpc")},
        "metrics": {"address": ""},
        cri: {
            "sandbox_image": PAUSE_IMAGE,
            # Exec/attach/port-forward streams: loopback only.
            "stream_server_address": "127.0.0.1",
            "stream_server_port": "0",
            "enable_cdi": False,
            # Keep containers' OOM scores at or above containerd's own: the
            # sandbox asks for -998 and Guaranteed pods for -997, and lowering
            # a score needs CAP_SYS_RESOURCE, which machines like this one
            # (a VM whose bounding set lacks it) do not grant.
            "restrict_oom_score_adj": True,
        },
        f"{cri}.containerd": {"snapshotter": "overlayfs", "default_runtime_name": "runc"},
        f"{runtimes}.runc": {"runtime_type": "io.containerd.runc.v2"},
        f"{runtimes}.runc.options": {
            "BinaryName": str(RUNC),
            "Root": str(state / "runc"),
            "SystemdCgroup": False,
        },
        # gVisor through the runc shim and a wrapper (gvisor_runtime.py says why).
        f"{runtimes}.{GVISOR_HANDLER}": {"runtime_type": "io.containerd.runc.v2"},
        f"{runtimes}.{GVISOR_HANDLER}.options": {
            "BinaryName": str(runsc_wrapper(stack)),
            "Root": str(state / "runsc"),
            "SystemdCgroup": False,
        },
        f"{cri}.cni": {"bin_dir": str(CNI_BIN_DIR), "conf_dir": str(cni_conf_dir(stack))},
        'plugins."io.containerd.internal.v1.opt"': {"path": str(containerd_dir(stack) / "opt")},
    }


def cni_conf_dir(stack: Stack) -> Path:
    return stack.layout.generated / "cni"


def cni_config(stack: Stack) -> dict[str, Any]:
    subnet = stack.layout.node_subnet
    return {
        "cniVersion": "1.0.0",
        "name": "simpipe",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                # No masquerading and no forwarding: pods talk to this
                # machine's bridge address and to each other, nothing else.
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(subnet), "gateway": stack.layout.node_ip}]],
                    # Services (the `kubernetes` one) through the node; no
                    # default route.
                    "routes": [{"dst": str(SERVICE_SUBNET), "gw": stack.layout.node_ip}],
                    "dataDir": str(stack.layout.data / "cni"),
                },
            }
        ],
    }


def ctr(stack: Stack, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [str(CTR), "--address", str(socket_path(stack)), "--namespace", K8S_NAMESPACE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"ctr {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


class Containerd(ProcessComponent):
    name = "containerd"
    real_node = True

    def config_path(self, stack: Stack) -> Path:
        return stack.layout.generated / "containerd.toml"

    def prepare(self, stack: Stack) -> None:
        for d in (containerd_dir(stack), run_dir(stack), cni_conf_dir(stack)):
            d.mkdir(parents=True, exist_ok=True)
        self.config_path(stack).write_text(to_toml(containerd_config(stack)))
        (cni_conf_dir(stack) / "10-simpipe.conflist").write_text(
            json.dumps(cni_config(stack), indent=2)
        )
        wrapper = runsc_wrapper(stack)
        wrapper.write_text(
            "#!/bin/sh\n"
            "# gVisor for containerd's runc shim: see simpipe_devstack/gvisor_runtime.py.\n"
            f'exec {sys.executable} -m simpipe_devstack.gvisor_runtime {RUNSC} "$@"\n'
        )
        wrapper.chmod(0o755)

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(self.name, [str(CONTAINERD), "--config", str(self.config_path(stack))])

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return lambda: cri_ready(socket_path(stack))

    def stop(self, stack: Stack) -> bool:
        # Containers outlive containerd (their shims keep them): end them
        # first, so stopping the node stops what ran on it.
        if self.is_running(stack):
            try:
                tasks = ctr(stack, "tasks", "ls", "--quiet", timeout=10).split()
            except (StackError, subprocess.TimeoutExpired):
                tasks = []
            for task in tasks:
                try:
                    ctr(stack, "tasks", "delete", "--force", task, timeout=10)
                except (StackError, subprocess.TimeoutExpired) as exc:
                    stack.out(f"       container {task[:12]} may still run: {exc}")
        return super().stop(stack)

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"containerd": f"unix://{socket_path(stack)}"}


def cri_ready(socket: Path) -> bool:
    """Whether containerd's CRI service answers, not just containerd: after a
    restart the CRI plugin first recovers the previous containers and
    refuses the kubelet ("server is not initialized yet")
    until it is done. An empty VersionRequest is a valid message."""
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        version: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/runtime.v1.RuntimeService/Version"
        )
        try:
            version(b"", timeout=2)
        except grpc.RpcError:
            return False
    return True
