"""The real node: a kubelet on containerd, registered with the local
apiserver beside the KWOK nodes. Its label and taint keep simulations off
it and let dry runs (and only they) choose it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.cluster import KWOK_NODE_LABEL, Cluster
from simpipe_devstack.components.containerd import GVISOR_HANDLER, socket_path
from simpipe_devstack.layout import CLUSTER_NAME
from simpipe_devstack.node_images import load_node_images
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok, wait_until

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

REAL_NODE_NAME = "simpipe-node"
# Same label key as the KWOK nodes', another value; a taint of the same
# key, so only pods that tolerate it (dry runs) are scheduled here.
REAL_NODE_KIND = "real"
REAL_NODE_TAINT: dict[str, str] = {
    "key": KWOK_NODE_LABEL,
    "value": REAL_NODE_KIND,
    "effect": "NoSchedule",
}
GVISOR_RUNTIME_CLASS = "gvisor"


def pki_dir(stack: Stack) -> Path:
    return stack.layout.kwok_workdir / "clusters" / CLUSTER_NAME / "pki"


def kubelet_config(stack: Stack) -> dict[str, Any]:
    ports = stack.layout.ports
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The apiserver reaches the kubelet here for logs and exec.
        "address": stack.layout.node_ip,
        "port": ports["kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": ports["kubelet_healthz"],
        "containerRuntimeEndpoint": f"unix://{socket_path(stack)}",
        # This machine's layout: cgroup v1, no systemd.
        "cgroupDriver": "cgroupfs",
        "failSwapOn": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki_dir(stack) / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "registerWithTaints": [REAL_NODE_TAINT],
        # Node images are imported, not pulled: garbage-collecting them
        # would break every pod that uses them (imagePullPolicy Never).
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A dev machine's disk is often fuller than the production
        # defaults (10-15 % free) allow; evict only when nearly out.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
            "nodefs.inodesFree": "2%",
        },
        "serializeImagePulls": False,
        "maxPods": 50,
        "resolvConf": "/etc/resolv.conf",
        # Dry runs want to see a step end within a second or two.
        "nodeStatusUpdateFrequency": "5s",
        "shutdownGracePeriod": "0s",
        # The kubelet's own iptables chains (KUBE-FIREWALL and its canaries)
        # guard route_localnet, which kube-proxy leaves off here
        # (localhostNodePorts false), and nothing removes them on stop:
        # without them `make down` leaves no KUBE-* rule behind.
        "makeIPTablesUtilChains": False,
    }


class Kubelet(ProcessComponent):
    name = "kubelet"
    real_node = True
    port_keys = ("kubelet_healthz",)
    binaries = ("kubelet",)
    ready_timeout = 90.0

    def config_path(self, stack: Stack) -> Path:
        return stack.layout.generated / "kubelet.yaml"

    def prepare(self, stack: Stack) -> None:
        # The sandbox and executor images must be there before any pod.
        load_node_images(stack)
        self.config_path(stack).write_text(yaml.safe_dump(kubelet_config(stack)))
        Cluster().apply(
            stack,
            [
                {
                    "apiVersion": "node.k8s.io/v1",
                    "kind": "RuntimeClass",
                    "metadata": {"name": GVISOR_RUNTIME_CLASS},
                    "handler": GVISOR_HANDLER,
                    # Pods asking for gVisor run on the one node that has it.
                    "scheduling": {
                        "nodeSelector": {KWOK_NODE_LABEL: REAL_NODE_KIND},
                        "tolerations": [{**REAL_NODE_TAINT, "operator": "Equal"}],
                    },
                }
            ],
        )

    def spec(self, stack: Stack) -> ProcessSpec:
        layout = stack.layout
        return ProcessSpec(
            self.name,
            [
                str(layout.binaries["kubelet"]),
                f"--config={self.config_path(stack)}",
                f"--kubeconfig={layout.kubeconfig}",
                f"--root-dir={layout.data / 'kubelet'}",
                f"--hostname-override={REAL_NODE_NAME}",
                f"--node-ip={layout.node_ip}",
                f"--node-labels={KWOK_NODE_LABEL}={REAL_NODE_KIND}",
                "--v=1",
            ],
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"http://127.0.0.1:{stack.layout.ports['kubelet_healthz']}/healthz")

    def after_start(self, stack: Stack) -> None:
        cluster = Cluster()
        # On a new cluster the node registers a moment after the kubelet is
        # healthy: not found yet is not ready yet.
        wait_until(
            f"node {REAL_NODE_NAME} Ready",
            lambda: cluster.kubectl(
                stack, "get", "node", REAL_NODE_NAME, "--ignore-not-found",
                "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ).strip() == "True",
            self.ready_timeout,
            alive=lambda: self.is_running(stack),
            on_failure=lambda: stack.supervisor.log_tail(self.name, 25),
        )  # fmt: skip

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "real_node": f"{REAL_NODE_NAME} (https://{stack.layout.node_ip}:{stack.layout.ports['kubelet']})"
        }
