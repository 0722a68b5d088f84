"""kube-proxy for the real node (iptables mode): programs Services on this
machine, above all the `kubernetes` Service through which pods (Argo's
executor) reach the apiserver at its advertised bridge address.

It touches the host's netfilter tables only with its own KUBE-* chains and
is kept from the rest: no NodePorts outside the node network, no
route_localnet, no conntrack sysctls. Stopping it removes its chains.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack


def kube_proxy_config(stack: Stack) -> dict[str, Any]:
    ports, subnet = stack.layout.ports, str(stack.layout.node_subnet)
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(stack.layout.kubeconfig)},
        "hostnameOverride": REAL_NODE_NAME,
        "clusterCIDR": subnet,
        "healthzBindAddress": f"127.0.0.1:{ports['kube_proxy_healthz']}",
        "metricsBindAddress": f"127.0.0.1:{ports['kube_proxy_metrics']}",
        "nodePortAddresses": [subnet],
        "iptables": {"localhostNodePorts": False},
        # Leave the host's conntrack table sizes and timeouts as they are.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


class KubeProxy(ProcessComponent):
    name = "kube-proxy"
    real_node = True
    port_keys = ("kube_proxy_healthz", "kube_proxy_metrics")
    binaries = ("kube-proxy",)

    def config_path(self, stack: Stack) -> Path:
        return stack.layout.generated / "kube-proxy.yaml"

    def prepare(self, stack: Stack) -> None:
        self.config_path(stack).write_text(yaml.safe_dump(kube_proxy_config(stack)))

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name,
            [str(stack.layout.binaries["kube-proxy"]), f"--config={self.config_path(stack)}"],
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"http://127.0.0.1:{stack.layout.ports['kube_proxy_healthz']}/healthz")

    def stop(self, stack: Stack) -> bool:
        stopped = super().stop(stack)
        if stopped:
            subprocess.run(
                [str(stack.layout.binaries["kube-proxy"]), "--cleanup"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            remove_leftover_chains()
        return stopped


# What `kube-proxy --cleanup` leaves on purpose (a node's kubelet may share
# them): here kube-proxy made them and nothing else uses them (the kubelet
# makes no iptables chains of its own, components/kubelet.py), so `make down`
# leaves no KUBE-* chain behind. Jumps first: a chain in use cannot go.
LEFTOVER_JUMPS = (("filter", "INPUT", "KUBE-FIREWALL"), ("filter", "OUTPUT", "KUBE-FIREWALL"))
LEFTOVER_CHAINS = (
    ("filter", "KUBE-FIREWALL"),
    ("mangle", "KUBE-PROXY-CANARY"),
    ("nat", "KUBE-PROXY-CANARY"),
    ("filter", "KUBE-PROXY-CANARY"),
    ("nat", "KUBE-MARK-MASQ"),
)


def _iptables(*args: str) -> None:
    # kube-proxy makes its canary and firewall chains for IPv4 and IPv6 alike.
    # Absent already (or the tool missing): nothing to do.
    for tool in ("iptables", "ip6tables"):
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([tool, "-w", "5", *args], capture_output=True, timeout=30, check=False)


def remove_leftover_chains() -> None:
    for table, parent, chain in LEFTOVER_JUMPS:
        _iptables("-t", table, "-D", parent, "-j", chain)
    for table, chain in LEFTOVER_CHAINS:
        _iptables("-t", table, "-F", chain)  # a chain must be empty to be deleted
        _iptables("-t", table, "-X", chain)
