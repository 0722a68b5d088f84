"""The real node's pod network: a Linux bridge with a private /24 that
exists only on this machine, and the pod gateway on its first address
(pods reach the apiserver and S3 there: see pod_gateway.py for why a
forwarder). The CNI bridge plugin attaches pods to this bridge.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.layout import SERVICES_NAMESPACE
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import port_in_use

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

BRIDGE = "simpipe0"
# Where the services' pods reach the Argo server (overlays/local).
ARGO_SERVER_FOR_SERVICES_PORT = 12746


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise StackError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def bridge_address(stack: Stack) -> str:
    return f"{stack.layout.node_ip}/{stack.layout.node_subnet.prefixlen}"


def bridge_ready(stack: Stack) -> bool:
    shown = _ip("-o", "-4", "addr", "show", "dev", BRIDGE, check=False)
    return shown.returncode == 0 and f" {bridge_address(stack)} " in shown.stdout


class NodeNetwork(ProcessComponent):
    name = "node-network"
    real_node = True
    ready_timeout = 15.0

    def forwarded_ports(self, stack: Stack) -> tuple[int, ...]:
        """Loopback services pods need, reachable at the same port on the node address."""
        return stack.layout.ports["kube_apiserver"], stack.layout.ports["minio"]

    def services_routes(self, stack: Stack) -> dict[int, int]:
        """Node-address port -> loopback port of what only the services' pods
        may reach (`make up MODE=cluster`): NATS, Prometheus, the Argo
        server. Argo's server listens on every interface (its own port is
        guarded, loopback_guard), so its route takes another port."""
        ports = stack.layout.ports
        return {
            ports["nats"]: ports["nats"],
            ports["prometheus"]: ports["prometheus"],
            ARGO_SERVER_FOR_SERVICES_PORT: ports["argo_server"],
        }

    def prepare(self, stack: Stack) -> None:
        if bridge_ready(stack):
            return
        if _ip("link", "show", BRIDGE, check=False).returncode != 0:
            _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "replace", bridge_address(stack), "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")

    def spec(self, stack: Stack) -> ProcessSpec:
        node_ip = stack.layout.node_ip
        routes = [f"{node_ip}:{port}=127.0.0.1:{port}" for port in self.forwarded_ports(stack)]
        routes += [
            f"{node_ip}:{listen}=127.0.0.1:{target}@{SERVICES_NAMESPACE}"
            for listen, target in self.services_routes(stack).items()
        ]
        return ProcessSpec(
            self.name,
            [
                sys.executable, "-m", "simpipe_devstack.pod_gateway",
                "--kubeconfig", str(stack.layout.kubeconfig), *routes,
            ],
        )  # fmt: skip

    def ready(self, stack: Stack) -> Callable[[], bool]:
        node_ip = stack.layout.node_ip
        ports = (*self.forwarded_ports(stack), *self.services_routes(stack))
        return lambda: all(port_in_use(p, node_ip) for p in ports)

    def is_running(self, stack: Stack) -> bool:
        return super().is_running(stack) and bridge_ready(stack)

    def stop(self, stack: Stack) -> bool:
        stopped = super().stop(stack)
        if shutil.which("ip") and _ip("link", "show", BRIDGE, check=False).returncode == 0:
            _ip("link", "delete", BRIDGE)
            stopped = True
        return stopped

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"node_ip": stack.layout.node_ip}
