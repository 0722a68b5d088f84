"""Prometheus (Debian's package): KWOK's emulated cAdvisor series every
second, plus Argo's and the services' own metrics."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# Fine enough to see a step of a few seconds; the original SIM-PIPE's
# cAdvisor ran at 1 s too. The kwok-scaler reads it
# (SIMPIPE_SIMULATION_SCRAPE_INTERVAL_SECONDS) to refuse time scales at which
# a step would last fewer than three scrapes. Not lower: KWOK renders every
# node's series per scrape (CEL per container), and on a 2-core machine a
# 250 ms scrape did not keep up: with a few hundred simulated pods targets
# timed out, and with a 1,000-node virtual cluster all of them. The emulated counters
# are exact at any scrape (rate x elapsed), so a slower scrape loses no usage.
CADVISOR_SCRAPE_INTERVAL = "1s"


class Prometheus(ProcessComponent):
    name = "prometheus"
    port_keys = ("prometheus",)

    def binary(self) -> str:
        found = shutil.which("prometheus")
        if not found:
            raise StackError(
                "Prometheus is not installed: apt-get install -y prometheus (or run `make build`)"
            )
        return found

    def config(self, stack: Stack) -> dict[str, Any]:
        ports = stack.layout.ports
        return {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "scrape_configs": [
                {
                    "job_name": "kwok-cadvisor",
                    "scrape_interval": CADVISOR_SCRAPE_INTERVAL,
                    "scrape_timeout": CADVISOR_SCRAPE_INTERVAL,
                    "http_sd_configs": [
                        {
                            "url": f"http://127.0.0.1:{ports['kwok_controller']}/discovery/prometheus",
                            "refresh_interval": "5s",
                        }
                    ],
                    # One target per node: keep the node's name as a label.
                    "relabel_configs": [
                        {
                            "source_labels": ["__metrics_path__"],
                            "regex": "/metrics/nodes/([^/]+)/.*",
                            "target_label": "node",
                        }
                    ],
                },
                *([self.real_node_job(stack)] if stack.real_node else []),
                {
                    "job_name": "argo-workflow-controller",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{ports['argo_controller_metrics']}"]}
                    ],
                },
                {
                    "job_name": "simpipe-services",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
                        for name, port in stack.service_http_ports().items()
                    ],
                },
            ],
        }

    def real_node_job(self, stack: Stack) -> dict[str, Any]:
        """The real node's cAdvisor, relabelled like KWOK's emulated series
        (namespace, pod, container, image) so PromQL does not care which
        node ran a step. Only containers of pods are kept, as on KWOK."""
        kubernetes_labels = {
            "namespace": "container_label_io_kubernetes_pod_namespace",
            "pod": "container_label_io_kubernetes_pod_name",
            "container": "container_label_io_kubernetes_container_name",
        }
        return {
            "job_name": "real-node-cadvisor",
            "scrape_interval": CADVISOR_SCRAPE_INTERVAL,
            "scrape_timeout": CADVISOR_SCRAPE_INTERVAL,
            "static_configs": [
                {
                    "targets": [f"127.0.0.1:{stack.layout.ports['cadvisor']}"],
                    "labels": {"node": REAL_NODE_NAME},
                }
            ],
            "metric_relabel_configs": [
                {
                    "source_labels": ["container_label_io_kubernetes_container_name"],
                    "regex": ".+",
                    "action": "keep",
                },
                *(
                    {"source_labels": [source], "target_label": target}
                    for target, source in kubernetes_labels.items()
                ),
                {"regex": "container_label_.+", "action": "labeldrop"},
            ],
        }

    def prepare(self, stack: Stack) -> None:
        (stack.layout.generated / "prometheus.yml").write_text(yaml.safe_dump(self.config(stack)))

    def spec(self, stack: Stack) -> ProcessSpec:
        data = stack.layout.data / "prometheus"
        data.mkdir(parents=True, exist_ok=True)
        return ProcessSpec(
            self.name,
            [
                self.binary(),
                f"--config.file={stack.layout.generated / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{stack.layout.ports['prometheus']}",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=15d",
            ],
        )

    def url(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['prometheus']}"

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self.url(stack)}/-/ready")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"prometheus": self.url(stack)}
