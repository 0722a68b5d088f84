"""Argo Workflows: the workflow-controller and `argo server` (API only).

Both run with the cluster's admin kubeconfig, for every namespace (as
Argo's cluster install; the services' RBAC is what limits a caller to the
workflows and simulations namespaces), archiving finished workflows to PostgreSQL and keeping artifacts
and step logs in S3. The server authenticates its callers (`--auth-mode
client`: a Kubernetes token, with whose RBAC it then acts), and a netfilter
rule keeps its port and the controller's, which listen on every interface,
to this machine (loopback_guard).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from simpipe_devstack import loopback_guard
from simpipe_devstack.cluster_policy import (
    ARGO_IDENTITIES,
    ARGO_TOKEN_HOURS,
    EXECUTOR_SERVICE_ACCOUNT,
    LOCAL_TOOLS,
    WORKFLOW_SERVICE_ACCOUNT,
    argo_token_file,
    container_security_context,
    pod_security_context,
)
from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.postgres import ARCHIVE_DB, ARCHIVE_USER
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.processes import ProcessSpec, StackError
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
# keep scraping) every pod ever run: kept, finished pods go on costing an
# idle stack kwok-controller CPU that everything else shares.
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
        "executor": {
            # Imported into the real node, never pulled (there is no registry).
            "imagePullPolicy": "IfNotPresent",
            # Argo's init and wait containers in every step's pod must pass
            # the workflows namespace's Pod Security `restricted` level.
            # argoexec needs no root: it writes only to the pod's emptyDir
            # volumes, which any uid may write (the emissary in the main
            # container makes its files writable for all, so steps may run
            # as another uid).
            "securityContext": container_security_context(),
        },
        # What every Workflow gets unless it says otherwise: the second line
        # behind the workflow-submitter's policy, which sets the same on
        # every document it submits (a Workflow's own value wins here). The
        # pod's own account has no rights and no token; the executor's
        # token (WorkflowTaskResults only) is mounted into its containers.
        # A run's own podGC overrides the default below. Step logs outlive
        # the pods in the S3 log archive, their measurements in Prometheus.
        # Not set: workflowRestrictions' templateReferencing (Strict or
        # Secure), under which the controller runs only Workflows that
        # reference a WorkflowTemplate; createDryRun takes whole Workflow
        # documents, which would all end in Error.
        "workflowDefaults": {
            "spec": {
                "serviceAccountName": WORKFLOW_SERVICE_ACCOUNT,
                "automountServiceAccountToken": False,
                "executor": {"serviceAccountName": EXECUTOR_SERVICE_ACCOUNT},
                "securityContext": pod_security_context(),
                "podGC": {
                    "strategy": "OnWorkflowCompletion",
                    "deleteDelayDuration": f"{POD_GC_DELAY_SECONDS}s",
                },
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


def set_guard(stack: Stack, name: str, ports: Sequence[int]) -> None:
    """Keep `ports` to this machine (loopback_guard); where this process may
    not set netfilter rules, say that they are open."""
    problem = loopback_guard.available()
    if problem:
        listed = ", ".join(str(p) for p in ports)
        stack.out(f"       {name}: ports {listed} are open on every interface ({problem})")
        return
    try:
        loopback_guard.guard(name, ports)
    except loopback_guard.GuardError as error:
        raise StackError(f"{name}: cannot keep its ports to this machine: {error}") from None


def remove_guard(name: str) -> None:
    if loopback_guard.available() is None:
        loopback_guard.unguard(name)


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

    def guarded_ports(self, stack: Stack) -> tuple[int, ...]:
        return stack.layout.ports["argo_controller_metrics"], CONTROLLER_HEALTH_PORT

    def prepare(self, stack: Stack) -> None:
        set_guard(stack, self.name, self.guarded_ports(stack))
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
                # Its configuration is in the workflows namespace; it runs
                # the Workflows of every namespace (the real nodes' and the
                # simulations'), as Argo's cluster install does.
                "--namespace", WORKFLOW_NAMESPACE,
                "--configmap", CONFIGMAP,
                "--executor-image", f"quay.io/argoproj/argoexec:{version}",
                "--log-format", "json",
                # client-go's defaults (20/s, bursts of 30) hold a
                # simulation's pod creates to 20 a second: a 1,000-step
                # run would wait 50 s for the controller alone.
                "--qps", str(ARGO_CONTROLLER_KUBE_QPS),
                "--burst", str(2 * ARGO_CONTROLLER_KUBE_QPS),
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

    def stop(self, stack: Stack) -> bool:
        stopped = super().stop(stack)
        remove_guard(self.name)
        return stopped

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "argo_controller_metrics": f"http://127.0.0.1:{stack.layout.ports['argo_controller_metrics']}/metrics"
        }


# Requests per second the Argo server may make to the apiserver.
ARGO_SERVER_KUBE_QPS = 100
ARGO_CONTROLLER_KUBE_QPS = 200


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by this user only, replacing the file in one
    step: a service that reads it meanwhile sees the old token or the new."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    staged.replace(path)


def mint_argo_tokens(stack: Stack) -> None:
    """A fresh token of each Argo caller's ServiceAccount (cluster_policy),
    in its file. Earlier ones stay valid until they expire."""
    cluster = Cluster()
    for identity, (namespace, account) in ARGO_IDENTITIES.items():
        token = cluster.kubectl(
            stack, "create", "token", account, "-n", namespace,
            f"--duration={ARGO_TOKEN_HOURS}h",
        ).strip()  # fmt: skip
        write_private(argo_token_file(stack.layout, identity), token)


def argo_token_env(stack: Stack, service: str) -> dict[str, str]:
    """The token setting of a service that calls the Argo server as its own
    ServiceAccount; nothing for one that has none (it calls no Argo)."""
    if service == LOCAL_TOOLS or service not in ARGO_IDENTITIES:
        return {}
    return {"SIMPIPE_ARGO_TOKEN_FILE": str(argo_token_file(stack.layout, service))}


class ArgoServer(ProcessComponent):
    name = "argo-server"
    port_keys = ("argo_server",)
    binaries = ("argo",)

    def prepare(self, stack: Stack) -> None:
        set_guard(stack, self.name, (stack.layout.ports["argo_server"],))
        mint_argo_tokens(stack)

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["argo"]),
                "server",
                "--kubeconfig", str(stack.layout.kubeconfig),
                "--namespace", WORKFLOW_NAMESPACE,
                # Every request needs a Kubernetes token (Authorization:
                # Bearer), and the server acts with it: a caller can do
                # through Argo only what its RBAC allows.
                "--auth-mode", "client",
                "--secure=false",
                "--port", str(stack.layout.ports["argo_server"]),
                "--configmap", CONFIGMAP,
                "--log-format", "json",
                # client-go's defaults (20/s, bursts of 30) queue every create
                # ~50 ms apart once a sweep has made 30 dry runs in a second.
                "--kube-api-qps", str(ARGO_SERVER_KUBE_QPS),
                "--kube-api-burst", str(2 * ARGO_SERVER_KUBE_QPS),
            ],
            # With a caller's token the server builds its Kubernetes client
            # from the default kubeconfig ($KUBECONFIG), not from
            # --kubeconfig; it takes the address and CA from there and drops
            # the admin's key.
            env={"KUBECONFIG": str(stack.layout.kubeconfig)},
        )  # fmt: skip

    def url(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['argo_server']}"

    def ready(self, stack: Stack) -> Callable[[], bool]:
        # Ready when a caller's token works: listing asks the apiserver
        # whether the caller may (/api/v1/version takes any Bearer string).
        token = argo_token_file(stack.layout, LOCAL_TOOLS).read_text().strip()
        return http_ok(
            f"{self.url(stack)}/api/v1/workflows/{WORKFLOW_NAMESPACE}?listOptions.limit=1",
            headers={"Authorization": f"Bearer {token}"},
        )

    def stop(self, stack: Stack) -> bool:
        stopped = super().stop(stack)
        remove_guard(self.name)
        return stopped

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "argo_server": self.url(stack),
            # The local tools' token (cluster_policy.local_tools_rbac).
            "argo_token_file": str(argo_token_file(stack.layout, LOCAL_TOOLS)),
        }
