"""What the local cluster enforces on users' workflows, and who may do what.

The namespaces (Pod Security `restricted` on both), the workflows'
ServiceAccounts and the services' RBAC are deploy/kustomize's own files,
applied as they are, so the local stack checks the production install's
policy. Added here, for the local stack only: the identity its own tools
(`make demo`, the tests, the benchmarks) use on the Argo server, and the
security contexts that make a pod pass `restricted`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simpipe_devstack.layout import (
    DEPLOY_LOCAL,
    SERVICES_NAMESPACE,
    SIMULATION_NAMESPACE,
    WORKFLOW_NAMESPACE,
    Layout,
)

KUSTOMIZE_BASE = DEPLOY_LOCAL.parent / "kustomize" / "base"
POLICY_MANIFESTS = tuple(
    KUSTOMIZE_BASE / name for name in ("namespaces.yaml", "workflow-identities.yaml", "rbac.yaml")
)

# A workflow pod's own account (no rights, no token) and its executor's
# (WorkflowTaskResults only): base/workflow-identities.yaml.
WORKFLOW_SERVICE_ACCOUNT = "simpipe-workflow"
EXECUTOR_SERVICE_ACCOUNT = "simpipe-executor"

# The uid workflow containers run as unless a document names another
# non-root one: distroless' `nonroot`, as the services' own pods.
NON_ROOT_UID = 65532


def pod_security_context() -> dict[str, Any]:
    """A pod's part of Pod Security's `restricted` level (and the group its
    emptyDir volumes are given, so every container of the pod can write them)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "fsGroup": NON_ROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """What `restricted` asks of every container itself (privilege escalation
    and capabilities exist only at this level), and the pod's part again so
    that the container passes whatever its pod says."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# Who calls the Argo server, which runs with `--auth-mode=client`: the
# services as their production ServiceAccounts (base/rbac.yaml), the local
# tools as an account of their own. name: (namespace, ServiceAccount).
ARGO_IDENTITIES: dict[str, tuple[str, str]] = {
    "workflow-submitter": (SERVICES_NAMESPACE, "workflow-submitter"),
    "argo-watcher": (SERVICES_NAMESPACE, "argo-watcher"),
    "local-tools": (SERVICES_NAMESPACE, "simpipe-local-tools"),
}
LOCAL_TOOLS = "local-tools"
# How long a minted token lasts. `make up` mints new ones whenever it starts
# the Argo server, and the services read a replaced file again; a stack left
# up longer than this needs `make down && make up`.
ARGO_TOKEN_HOURS = 7 * 24


def argo_token_file(layout: Layout, identity: str) -> Path:
    return layout.state / "argo-tokens" / f"{identity}.token"


def local_tools_rbac() -> list[dict[str, Any]]:
    """The local tools drive Argo directly, as an operator would: submit
    example pipelines, follow and stop them, read their steps' logs, in
    both run namespaces."""
    namespace, account = ARGO_IDENTITIES[LOCAL_TOOLS]
    identity: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": namespace},
        "automountServiceAccountToken": False,
    }
    return [identity] + [
        rbac
        for runs in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE)
        for rbac in _local_tools_role(account, namespace, runs)
    ]


def _local_tools_role(account: str, namespace: str, runs: str) -> list[dict[str, Any]]:
    meta = {"name": account, "namespace": runs}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": ["argoproj.io"],
                    "resources": ["workflows", "workflowtemplates"],
                    "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"],
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    ]


# What the stack applied before workflows had their own accounts: Argo's
# executor role bound to the workflows namespace's `default` account. A
# cluster kept from then would go on granting it; `default` has no rights now.
# Likewise the kwok-scaler's rights in the workflows namespace, from before
# runs on virtual nodes had a namespace of their own (it has none there now).
RETIRED_OBJECTS = (
    ("rolebinding", "argo-executor"),
    ("role", "argo-executor"),
    ("rolebinding", "kwok-scaler"),
    ("role", "kwok-scaler"),
)
