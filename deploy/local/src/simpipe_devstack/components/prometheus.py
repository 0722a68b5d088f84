"""Prometheus (Debian's package): KWOK's emulated cAdvisor series every
second, plus Argo's and the services' own metrics."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.images import SERVICE_HTTP_PORTS
from simpipe_devstack.layout import SERVICE_IPS
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# Fine enough to see a step of a few seconds; the original SIM-PIPE's
# cAdvisor ran at 1 s too. Not lower for every KWOK node: KWOK renders a
# node's series (CEL per container) on each scrape, and a stack-wide
# sub-second scrape did not keep up with a large virtual cluster on two
# cores. Small virtual clusters, listed so by the kwok-scaler's discovery
# (/discovery/scrape/fast), get FAST_SCRAPE_INTERVAL instead: a time scale
# is bounded by three scrapes per step, and their simulations can then run
# ten times faster than real time. The scaler is told the intervals
# (SIMPIPE_SIMULATION_{,FAST_,COARSE_}SCRAPE_INTERVAL_SECONDS). The emulated
# counters are exact at any scrape (rate x elapsed): a slower one loses no
# usage, only resolution.
CADVISOR_SCRAPE_INTERVAL = "1s"
FAST_SCRAPE_INTERVAL = "250ms"
# Clusters of thousands of nodes: each node is a target, and at 1 s KWOK's
# rendering and Prometheus' scraping took the CPU the control plane needed
# to keep the nodes Ready at all.
COARSE_SCRAPE_INTERVAL = "5s"
# The kwok-scaler's scrape classes (its clusters/scrape.py) and their intervals.
KWOK_SCRAPE_INTERVALS = {
    "fast": FAST_SCRAPE_INTERVAL,
    "standard": CADVISOR_SCRAPE_INTERVAL,
    "coarse": COARSE_SCRAPE_INTERVAL,
}
# How the kwok-scaler names virtual clusters' nodes (its clusters/nodes.py).
VIRTUAL_NODE_PREFIX = "vc-"


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
                *(
                    self.kwok_job(stack, scrape, interval)
                    for scrape, interval in KWOK_SCRAPE_INTERVALS.items()
                ),
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
                self.service_pods_job(stack),
            ],
        }

    def service_pods_job(self, stack: Stack) -> dict[str, Any]:
        """The services as pods (MODE=cluster), at their Services' fixed
        addresses. A cluster's Prometheus finds each pod by its
        prometheus.io/* annotations; Debian's Prometheus is built without
        Kubernetes discovery, so here a scrape reaches one replica of a
        service, whichever the Service picks (one replica unless a test
        scales them). Nothing answers there in process mode."""
        return {
            "job_name": "simpipe-service-pods",
            "static_configs": [
                {"targets": [f"{SERVICE_IPS[name]}:{port}"], "labels": {"service": name}}
                for name, port in SERVICE_HTTP_PORTS.items()
            ],
        }

    def kwok_job(self, stack: Stack, scrape: str, interval: str) -> dict[str, Any]:
        """KWOK's emulated cAdvisor of KWOK nodes: of the virtual clusters
        the kwok-scaler lists in this scrape class; for the standard class
        also the stack's own KWOK nodes, which KWOK lists (its virtual
        nodes dropped there: a node scraped twice would count its pods'
        usage twice)."""
        ports = stack.layout.ports
        # Every second: the scaler lists a cluster's nodes from its record
        # on, so a simulation started once its nodes are Ready is scraped
        # from its first pod (KWOK's list of the stack's own nodes is
        # fixed; 5 s, as it lists every node, is plenty).
        # The scaler as a process, and as a pod at its Service's fixed
        # address (MODE=cluster); the one not running lists nothing.
        pod_scaler = f"http://{SERVICE_IPS['kwok-scaler']}:{SERVICE_HTTP_PORTS['kwok-scaler']}"
        listed = [
            {"url": f"{base}/discovery/scrape/{scrape}", "refresh_interval": "1s"}
            for base in (f"http://127.0.0.1:{ports['kwok_scaler_http']}", pod_scaler)
        ]
        kwok = [
            {
                "url": f"http://127.0.0.1:{ports['kwok_controller']}/discovery/prometheus",
                "refresh_interval": "5s",
            }
        ]
        return {
            "job_name": "kwok-cadvisor" if scrape == "standard" else f"kwok-cadvisor-{scrape}",
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "http_sd_configs": listed + kwok if scrape == "standard" else listed,
            "relabel_configs": [
                # Virtual nodes as KWOK lists them: the scaler lists them
                # in their class (KWOK's targets come with their path).
                {
                    "source_labels": ["__metrics_path__"],
                    "regex": f"/metrics/nodes/{VIRTUAL_NODE_PREFIX}.*",
                    "action": "drop",
                },
                # The scaler's targets are node names, on the default path.
                {
                    "source_labels": ["__metrics_path__", "__address__"],
                    "regex": "/metrics;(.+)",
                    "target_label": "__metrics_path__",
                    "replacement": "/metrics/nodes/$1/metrics/cadvisor",
                },
                {
                    "target_label": "__address__",
                    "replacement": f"127.0.0.1:{ports['kwok_controller']}",
                },
                # One target per node: keep the node's name as a label.
                {
                    "source_labels": ["__metrics_path__"],
                    "regex": "/metrics/nodes/([^/]+)/.*",
                    "target_label": "node",
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
