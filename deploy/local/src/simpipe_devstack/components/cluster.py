"""The Kubernetes control plane with KWOK nodes, made by kwokctl's binary
runtime from the binaries we built (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok-controller)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.cluster_policy import (
    EXECUTOR_SERVICE_ACCOUNT,
    KUSTOMIZE_BASE,
    POLICY_MANIFESTS,
    RETIRED_OBJECTS,
    local_tools_rbac,
)
from simpipe_devstack.components.base import Component
from simpipe_devstack.layout import (
    CLUSTER_NAME,
    MANIFESTS,
    SERVICE_SUBNET,
    SIMULATION_NAMESPACE,
    WORKFLOW_NAMESPACE,
)
from simpipe_devstack.processes import StackError
from simpipe_devstack.readiness import wait_until

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# SIM-PIPE's own resource type, shared with the production install.
PROJECT_CRD = KUSTOMIZE_BASE / "crds" / "projects.simpipe.io.yaml"

# Labels that let pods choose KWOK nodes (simulation) over a real node.
KWOK_NODE_LABEL = "simpipe.io/node-kind"
KWOK_NODE_KIND = "kwok"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_ANNOTATION_VALUE = "fake"
# The kwok-scaler's label of a virtual cluster's nodes (its clusters/nodes.py).
VIRTUAL_CLUSTER_LABEL = "simpipe.io/virtual-cluster"
# How long a KWOK node's Lease lasts; kwok-controller renews it every quarter.
NODE_LEASE_SECONDS = 20
HEARTBEAT_FACTOR = 5  # kwokctl's default

# How many nodes and pods the kwok-controller plays at once (KWOK's default
# is 4 workers each, 1 for the pods-on-node sync). Each worker waits for one
# apiserver round trip at a time, so 4 cap a virtual cluster's new nodes
# (each a status patch and a Lease) and a simulation's pod transitions at
# what four round trips in turn allow; 16 keep the
# apiserver's queue fed without more threads than two cores can use.
# The kwok-controller's own client has no rate limit (KWOK sets none).
KWOK_PARALLELISM = {
    "nodePlayStageParallelism": 16,
    "nodeLeaseParallelism": 16,
    "podPlayStageParallelism": 16,
    "podsOnNodeSyncParallelism": 4,
}
# Client rate limits of the scheduler and controller-manager (Kubernetes'
# defaults: 50/100 and 20/30 requests per second). Every scheduled pod is a
# bind request: at 50/s, 10,000 simulated pods wait 200 s for the scheduler
# alone. The controller-manager patches each new node (TTL, node lifecycle)
# and deletes finished pods: at 20/s a 1,000-node cluster holds up the pod
# garbage collection for ~50 s.
CONTROL_PLANE_QPS = {
    "kube-scheduler": (500, 1000),
    "kube-controller-manager": (200, 400),
}
# A pod the scheduler could not place waits podInitialBackoffSeconds, doubled
# per failed attempt up to podMaxBackoffSeconds (Kubernetes' defaults: 1 and
# 10 s), before it is tried again when a node frees up. In a simulation
# hundreds of pods wait for a few nodes and fail many times: each wave of
# them then started up to 10 s (wall) after the nodes it waited for were
# free, which a time scale turns into minutes of idle simulated cluster.
# One second is the least the configuration allows (whole seconds, > 0).
SCHEDULER_BACKOFF_SECONDS = {"podInitialBackoffSeconds": 1, "podMaxBackoffSeconds": 1}
# The apiserver's requests in flight (defaults 400 and 200, the seats
# API Priority and Fairness shares out): twice that, as the kwok-controller's
# workers, the scheduler's binds and the scaler's node writes come at once;
# two cores, not these, are the bound.
APISERVER_INFLIGHT = {"max-requests-inflight": 800, "max-mutating-requests-inflight": 400}


def kwok_nodes(count: int) -> list[dict[str, Any]]:
    """Fake nodes, sized like a small cloud VM each."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"kwok-node-{i}",
                # kwok-controller manages nodes carrying this annotation.
                "annotations": {KWOK_NODE_ANNOTATION: KWOK_NODE_ANNOTATION_VALUE},
                "labels": {
                    KWOK_NODE_LABEL: KWOK_NODE_KIND,
                    "kubernetes.io/hostname": f"kwok-node-{i}",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {
                "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
            },
        }
        for i in range(count)
    ]


class Cluster(Component):
    name = "cluster"
    port_keys = (
        "kube_apiserver",
        "etcd",
        "etcd_peer",
        "kube_controller_manager",
        "kube_scheduler",
        "kwok_controller",
    )
    binaries = (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "etcd",
        "kwok",
        "kwokctl",
    )

    def _cluster_dir(self, stack: Stack) -> Path:
        return stack.layout.kwok_workdir / "clusters" / CLUSTER_NAME

    def _env(self, stack: Stack) -> dict[str, str]:
        bins = stack.layout.binaries
        # kwokctl looks for kubectl on PATH (and would try to download one).
        path = f"{bins['kubectl'].parent}:{os.environ.get('PATH', '')}"
        return {**os.environ, "KWOK_WORKDIR": str(stack.layout.kwok_workdir), "PATH": path}

    def _kwokctl(self, stack: Stack, *args: str, timeout: float = 300) -> None:
        log = stack.supervisor.log_path(self.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            result = subprocess.run(
                [str(stack.layout.binaries["kwokctl"]), "--name", CLUSTER_NAME, *args],
                env=self._env(stack),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(
                f"kwokctl {args[0]} {args[1]} failed; last lines of {log}:\n"
                + stack.supervisor.log_tail(self.name, 25)
            )

    def kubectl(self, stack: Stack, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [
                str(stack.layout.binaries["kubectl"]),
                "--kubeconfig",
                str(stack.layout.kubeconfig),
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"kubectl {' '.join(args[:3])} failed: {result.stderr.strip()}")
        return result.stdout

    def apply(self, stack: Stack, docs: Sequence[dict[str, Any]]) -> None:
        self.kubectl(stack, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))

    def kwokctl_config(self, stack: Stack) -> str:
        layout, bins, ports = stack.layout, stack.layout.binaries, stack.layout.ports
        options = {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": layout.versions["KUBERNETES_VERSION"],
            "etcdVersion": layout.versions["ETCD_VERSION"].lstrip("v"),
            "kwokVersion": layout.versions["KWOK_VERSION"],
            "kubeApiserverPort": ports["kube_apiserver"],
            "etcdPort": ports["etcd"],
            "etcdPeerPort": ports["etcd_peer"],
            "kubeControllerManagerPort": ports["kube_controller_manager"],
            "kubeSchedulerPort": ports["kube_scheduler"],
            "kwokControllerPort": ports["kwok_controller"],
            "kubeApiserverBinary": str(bins["kube-apiserver"]),
            "kubeControllerManagerBinary": str(bins["kube-controller-manager"]),
            "kubeSchedulerBinary": str(bins["kube-scheduler"]),
            "kubectlBinary": str(bins["kubectl"]),
            "etcdBinary": str(bins["etcd"]),
            "kwokControllerBinary": str(bins["kwok"]),
            # Usage and metrics are objects in the apiserver (applied after
            # start): passed in this file they would be dropped without
            # kwokctl's metrics-server, which it would have to download.
            "enableCRDs": ["Metric", "ClusterResourceUsage"],
            # kwok-controller manages a node only while it holds the node's
            # Lease. At kwokctl's default (200 s, renewed every 50 s) a
            # restarted controller waited minutes for its predecessor's
            # Leases to expire, and pods on KWOK nodes stayed Pending.
            # kwokctl multiplies it by heartbeatFactor (5, kept for the
            # node status updates, which scale with the node count).
            "nodeLeaseDurationSeconds": NODE_LEASE_SECONDS // HEARTBEAT_FACTOR,
            "quietPull": True,
            # Pods on the real node reach the apiserver through the
            # `kubernetes` Service (its first address) and the pod gateway
            # on the node's bridge address: the certificate names both.
            "kubeApiserverCertSANs": [layout.node_ip, str(next(SERVICE_SUBNET.hosts()))],
        }
        pki = self._cluster_dir(stack) / "pki"
        qps, burst = CONTROL_PLANE_QPS["kube-controller-manager"]
        patches = [
            {
                "name": "kube-apiserver",
                "extraArgs": [
                    # The `kubernetes` Service's endpoint: where the pod
                    # gateway listens (the apiserver stays on 127.0.0.1).
                    {"key": "advertise-address", "value": layout.node_ip},
                    # Logs and exec go through the real node's kubelet,
                    # which only accepts clients signed by the cluster CA.
                    {"key": "kubelet-client-certificate", "value": str(pki / "admin.crt")},
                    {"key": "kubelet-client-key", "value": str(pki / "admin.key")},
                    # The real node's name resolves nowhere: use its address.
                    {"key": "kubelet-preferred-address-types", "value": "InternalIP"},
                    *({"key": k, "value": str(v)} for k, v in APISERVER_INFLIGHT.items()),
                ],
            },
            {
                "name": "kube-controller-manager",
                "extraArgs": [
                    {"key": "kube-api-qps", "value": str(qps)},
                    {"key": "kube-api-burst", "value": str(burst)},
                ],
            },
            # kwokctl's own scheduler-config option appends a
            # clientConnection of its own (so the file could not set the
            # QPS), and with a --config the scheduler ignores its QPS flags:
            # the whole file is ours.
            {
                "name": "kube-scheduler",
                "extraArgs": [{"key": "config", "value": str(self._scheduler_config_path(stack))}],
            },
            {
                "name": "kwok-controller",
                # KWOK fakes only its own nodes, never the real one.
                "extraArgs": [
                    {"key": "manage-all-nodes", "value": "false", "override": True},
                    {
                        "key": "manage-nodes-with-annotation-selector",
                        "value": f"{KWOK_NODE_ANNOTATION}={KWOK_NODE_ANNOTATION_VALUE}",
                    },
                    # Errors only: at INFO and WARN it writes a line per pod
                    # patch and per empty node on every 1 s metrics scrape
                    # ("pods not found", "node not found"): with a large
                    # virtual cluster, gigabytes of log and the CPU to
                    # write them.
                    {"key": "v", "value": "ERROR"},
                ],
            },
        ]
        head = {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": options,
            "componentsPatches": patches,
        }
        # kwokctl hands this to the kwok-controller (its --config file).
        controller = {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": KWOK_PARALLELISM,
        }
        stages = (MANIFESTS / "kwok-pod-stages.yaml").read_text()
        return (
            yaml.safe_dump(head, sort_keys=False)
            + "---\n"
            + yaml.safe_dump(controller, sort_keys=False)
            + "---\n"
            + stages
        )

    def is_running(self, stack: Stack) -> bool:
        if not stack.layout.kubeconfig.exists():
            return False
        try:
            return (
                self.kubectl(stack, "get", "--raw=/readyz", "--request-timeout=2s").strip() == "ok"
            )
        except (StackError, subprocess.TimeoutExpired):
            return False

    def _config_path(self, stack: Stack) -> Path:
        return stack.layout.generated / "kwokctl.yaml"

    def scheduler_config(self, stack: Stack) -> str:
        qps, burst = CONTROL_PLANE_QPS["kube-scheduler"]
        config = {
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "clientConnection": {
                "kubeconfig": str(self._cluster_dir(stack) / "kubeconfig.yaml"),
                "qps": qps,
                "burst": burst,
            },
            **SCHEDULER_BACKOFF_SECONDS,
        }
        return yaml.safe_dump(config, sort_keys=False)

    def _scheduler_config_path(self, stack: Stack) -> Path:
        # Named by its content: a changed file changes kwokctl.yaml, which
        # recreates the cluster (kwokctl keeps a cluster's arguments).
        digest = hashlib.sha256(self.scheduler_config(stack).encode()).hexdigest()[:12]
        return stack.layout.generated / f"kube-scheduler-{digest}.yaml"

    def config_changed(self, stack: Stack) -> bool:
        """Was the existing cluster created from another configuration?"""
        config = self._config_path(stack)
        return not config.exists() or config.read_text() != self.kwokctl_config(stack)

    def start(self, stack: Stack) -> None:
        config = self._config_path(stack)
        config.parent.mkdir(parents=True, exist_ok=True)
        wanted = self.kwokctl_config(stack)
        exists = (self._cluster_dir(stack) / "kwok.yaml").exists()
        if exists and self.config_changed(stack):
            # kwokctl keeps a cluster's configuration (and certificates)
            # from its creation: a changed one needs a new cluster.
            stack.out(
                "       the cluster's configuration changed: recreating it "
                "(its workflows are gone; Argo's archive keeps finished ones)"
            )
            self._kwokctl(stack, "delete", "cluster", timeout=120)
            exists = False
        config.write_text(wanted)
        self._scheduler_config_path(stack).write_text(self.scheduler_config(stack))
        since = datetime.now(UTC) - timedelta(seconds=1)  # a second's leeway for the clock
        if exists:
            self._kwokctl(stack, "start", "cluster", "--wait", "2m")
        else:
            self._kwokctl(
                stack,
                "create",
                "cluster",
                "--config",
                str(config),
                "--kubeconfig",
                str(stack.layout.state / "kubeconfig"),
                "--wait",
                "2m",
            )
        wait_until("kube-apiserver", lambda: self.is_running(stack), 60)
        self.configure(stack, since)

    def configure(self, stack: Stack, since: datetime) -> None:
        """Objects the rest of the stack needs (idempotent); `since`: when
        this kwok-controller was started."""
        self.apply_policy(stack)
        for manifest in (
            MANIFESTS / "kwok-usage.yaml",
            MANIFESTS / "kwok-cadvisor-metric.yaml",
            PROJECT_CRD,
        ):
            self.kubectl(stack, "apply", "-f", str(manifest))
        nodes = kwok_nodes(stack.kwok_node_count)
        self.apply(stack, nodes)
        # Ready conditions and Leases outlive a stop in etcd: only a Lease
        # renewed since this start says the kwok-controller now running
        # manages the node (it renews every NODE_LEASE_SECONDS / 4).
        names = {node["metadata"]["name"] for node in nodes}
        # A predecessor's Lease would hold this controller off until it
        # expires; deleted, the controller makes its own at its next try.
        stale = [
            n
            for n, renewed in self._lease_renewals(stack).items()
            if n in names and renewed < since
        ]
        if stale:
            self.kubectl(
                stack, "delete", "lease", "-n", "kube-node-lease", "--ignore-not-found", *stale
            )
        wait_until(
            "KWOK nodes managed by this kwok-controller",
            lambda: (
                names
                <= {n for n, renewed in self._lease_renewals(stack).items() if renewed >= since}
            ),
            NODE_LEASE_SECONDS * 3,
        )
        # The stack's own KWOK nodes: virtual clusters' nodes (the
        # kwok-scaler's, kept across restarts) are the scaler's to wait for.
        wait_until(
            "KWOK nodes Ready",
            lambda: self.kubectl(
                stack, "get", "nodes",
                "-l", f"{KWOK_NODE_LABEL}={KWOK_NODE_KIND},!{VIRTUAL_CLUSTER_LABEL}",
                "-o", "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
            ).split() == ["True"] * stack.kwok_node_count,
            60,
        )  # fmt: skip

    def apply_policy(self, stack: Stack) -> None:
        """The namespaces with Pod Security `restricted`, the workflows' and
        the services' ServiceAccounts and RBAC (cluster_policy)."""
        namespaces, *rest = POLICY_MANIFESTS
        # The namespaces first: everything else lives in them.
        self.kubectl(stack, "apply", "-f", str(namespaces))
        for manifest in rest:
            self.kubectl(stack, "apply", "-f", str(manifest))
        self.apply(stack, local_tools_rbac())
        for kind, name in RETIRED_OBJECTS:
            self.kubectl(
                stack, "delete", kind, name, "-n", WORKFLOW_NAMESPACE, "--ignore-not-found"
            )
        # Argo mounts the executor's token from this Secret into every
        # step's pod: the token controller must have filled it in first.
        for namespace in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE):
            wait_until(
                f"the {EXECUTOR_SERVICE_ACCOUNT} token in {namespace}",
                functools.partial(self._has_executor_token, stack, namespace),
                30,
            )

    def _has_executor_token(self, stack: Stack, namespace: str) -> bool:
        return bool(
            self.kubectl(
                stack, "get", "secret", f"{EXECUTOR_SERVICE_ACCOUNT}.service-account-token",
                "-n", namespace, "-o", "jsonpath={.data.token}",
            ).strip()
        )  # fmt: skip

    def _lease_renewals(self, stack: Stack) -> dict[str, datetime]:
        """When each node Lease was last renewed."""
        leases = json.loads(
            self.kubectl(stack, "get", "leases", "-n", "kube-node-lease", "-o", "json")
        )
        return {
            lease["metadata"]["name"]: datetime.fromisoformat(renew)
            for lease in leases.get("items", [])
            if (renew := (lease.get("spec") or {}).get("renewTime"))
        }

    def stop(self, stack: Stack) -> bool:
        if not self._cluster_dir(stack).exists():
            return False
        running = self.is_running(stack)
        self._kwokctl(stack, "stop", "cluster", timeout=120)
        return running

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "kube_apiserver": f"https://127.0.0.1:{stack.layout.ports['kube_apiserver']}",
            "kubeconfig": str(stack.layout.kubeconfig),
            "kwok_controller": f"http://127.0.0.1:{stack.layout.ports['kwok_controller']}",
        }
