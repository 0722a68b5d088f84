"""cAdvisor for the real node's containers (deploy/local/cmd/cadvisor):
1 s samples of every containerd container in the k8s.io namespace, on
127.0.0.1. Prometheus renames its container_label_io_kubernetes_* labels
to the namespace/pod/container labels KWOK's emulation uses
(components/prometheus.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.containerd import K8S_NAMESPACE, socket_path
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

HOUSEKEEPING_INTERVAL = "1s"


class Cadvisor(ProcessComponent):
    name = "cadvisor"
    real_node = True
    port_keys = ("cadvisor",)
    binaries = ("cadvisor",)

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["cadvisor"]),
                f"--listen=127.0.0.1:{stack.layout.ports['cadvisor']}",
                f"--containerd={socket_path(stack)}",
                f"--containerd-namespace={K8S_NAMESPACE}",
                f"--housekeeping_interval={HOUSEKEEPING_INTERVAL}",
                "--logtostderr",
            ],
        )

    def url(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['cadvisor']}"

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self.url(stack)}/healthz")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"cadvisor": f"{self.url(stack)}/metrics"}
