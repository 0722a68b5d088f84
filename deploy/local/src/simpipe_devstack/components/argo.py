"""Argo Workflows: the workflow-controller and `argo server` (API only).

Both run with the cluster's admin kubeconfig, namespaced to the workflow
namespace, archiving finished workflows to PostgreSQL and keeping artifacts
and step logs in S3.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.postgres import ARCHIVE_DB, ARCHIVE_USER
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

CONFIGMAP = "workflow-controller-configmap"
ARTIFACT_BUCKET = "argo-artifacts"
# The S3 credentials of the steps' pods (keys accesskey, secretkey).
ARTIFACT_SECRET = "argo-s3"
# The controller's /healthz port is fixed in Argo 3.6 (no flag).
CONTROLLER_HEALTH_PORT = 6060
# Finished runs' pods are deleted this long after their Workflow completes:
# long enough to scrape their last figures and for a client to look at them,
# short enough that kwok-controller does not keep emulating (and Prometheus
# keep scraping) every pod ever run: with ~450 finished pods kept, the idle
# stack spent a fifth of a core in kwok-controller alone.
POD_GC_DELAY_SECONDS = 60


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": WORKFLOW_NAMESPACE},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def s3_endpoint_for_pods(stack: Stack) -> str:
    """MinIO as Argo's executor sees it: through the pod gateway on the
    real node's address (pods cannot reach 127.0.0.1), which this
    machine's own processes (the Argo server reading logs) reach too."""
    host = stack.layout.node_ip if stack.real_node else "127.0.0.1"
    return f"{host}:{stack.layout.ports['minio']}"


def controller_config(stack: Stack) -> dict[str, Any]:
    ports = stack.layout.ports
    return {
        # Imported into the real node, never pulled (there is no registry).
        "executor": {"imagePullPolicy": "IfNotPresent"},
        # A run's own podGC overrides this default. Step logs outlive the
        # pods in the S3 log archive, their measurements in Prometheus.
        "workflowDefaults": {
            "spec": {
                "podGC": {
                    "strategy": "OnWorkflowCompletion",
                    "deleteDelayDuration": f"{POD_GC_DELAY_SECONDS}s",
                }
            }
        },
        # Off Prometheus's default :9090 (Argo's default too); plain HTTP,
        # as 3.6 serves metrics over TLS by default.
        "metricsConfig": {
            "enabled": True,
            "port": ports["argo_controller_metrics"],
            "secure": False,
        },
        "telemetryConfig": {
            "enabled": True,
            "port": ports["argo_controller_metrics"],
            "secure": False,
        },
        "persistence": {
            "archive": True,
            "postgresql": {
                "host": "127.0.0.1",
                "port": ports["postgres"],
                "database": ARCHIVE_DB,
                "tableName": "argo_workflows",
                "userNameSecret": {"name": "argo-postgres", "key": "username"},
                "passwordSecret": {"name": "argo-postgres", "key": "password"},
            },
        },
        "artifactRepository": {
            "archiveLogs": True,
            "s3": {
                "bucket": ARTIFACT_BUCKET,
                "endpoint": s3_endpoint_for_pods(stack),
                "insecure": True,
                "accessKeySecret": {"name": ARTIFACT_SECRET, "key": "accesskey"},
                "secretKeySecret": {"name": ARTIFACT_SECRET, "key": "secretkey"},
            },
        },
    }


def executor_rbac() -> list[dict[str, Any]]:
    """What Argo's executor in a real pod may do with its (default)
    ServiceAccount: report each step's outputs as a WorkflowTaskResult."""
    meta = {"name": "argo-executor", "namespace": WORKFLOW_NAMESPACE}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": ["argoproj.io"],
                    "resources": ["workflowtaskresults"],
                    "verbs": ["create", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "argo-executor",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "default", "namespace": WORKFLOW_NAMESPACE}
            ],
        },
    ]


def argo_crds_dir(stack: Stack) -> Path:
    version = stack.layout.versions["ARGO_VERSION"]
    return (
        stack.layout.cache / "go" / "mod" / "github.com" / "argoproj"
        / f"argo-workflows/v3@{version}" / "manifests" / "base" / "crds" / "minimal"
    )  # fmt: skip


class ArgoController(ProcessComponent):
    name = "argo-controller"
    port_keys = ("argo_controller_metrics",)
    binaries = ("workflow-controller",)

    def prepare(self, stack: Stack) -> None:
        cluster = Cluster()
        cluster.kubectl(stack, "apply", "-k", str(argo_crds_dir(stack)))
        cluster.apply(
            stack,
            [
                _secret(
                    "argo-postgres",
                    {"username": ARCHIVE_USER, "password": stack.secrets.postgres_password},
                ),
                _secret(
                    ARTIFACT_SECRET,
                    {
                        "accesskey": stack.secrets.s3_access_key,
                        "secretkey": stack.secrets.s3_secret_key,
                    },
                ),
                *executor_rbac(),
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": CONFIGMAP, "namespace": WORKFLOW_NAMESPACE},
                    "data": {k: yaml.safe_dump(v) for k, v in controller_config(stack).items()},
                },
            ],
        )

    def spec(self, stack: Stack) -> ProcessSpec:
        version = stack.layout.versions["ARGO_VERSION"]
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["workflow-controller"]),
                "--kubeconfig", str(stack.layout.kubeconfig),
                "--namespace", WORKFLOW_NAMESPACE,
                "--namespaced",
                "--managed-namespace", WORKFLOW_NAMESPACE,
                "--configmap", CONFIGMAP,
                "--executor-image", f"quay.io/argoproj/argoexec:{version}",
                "--log-format", "json",
            ],
            env={
                # One controller: no Lease to wait for at start-up.
                "LEADER_ELECTION_DISABLE": "true",
                # Re-check a workflow 1 s after its pod changes, not 10 s:
                # steps follow each other without idle gaps (Argo's own dev
                # setting; a large production cluster wants more).
                "DEFAULT_REQUEUE_TIME": "1s",
            },
        )  # fmt: skip

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"http://127.0.0.1:{CONTROLLER_HEALTH_PORT}/healthz")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "argo_controller_metrics": f"http://127.0.0.1:{stack.layout.ports['argo_controller_metrics']}/metrics"
        }


# Requests per second the Argo server may make to the apiserver.
ARGO_SERVER_KUBE_QPS = 100


class ArgoServer(ProcessComponent):
    name = "argo-server"
    port_keys = ("argo_server",)
    binaries = ("argo",)

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["argo"]),
                "server",
                "--kubeconfig", str(stack.layout.kubeconfig),
                "--namespace", WORKFLOW_NAMESPACE,
                "--namespaced",
                "--managed-namespace", WORKFLOW_NAMESPACE,
                "--auth-mode", "server",
                "--secure=false",
                "--port", str(stack.layout.ports["argo_server"]),
                "--configmap", CONFIGMAP,
                "--log-format", "json",
                # client-go's defaults (20/s, bursts of 30) queue every create
                # ~50 ms apart once a sweep has made 30 dry runs in a second.
                "--kube-api-qps", str(ARGO_SERVER_KUBE_QPS),
                "--kube-api-burst", str(2 * ARGO_SERVER_KUBE_QPS),
            ],
        )  # fmt: skip

    def url(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['argo_server']}"

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self.url(stack)}/api/v1/version")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"argo_server": self.url(stack)}
