"""A virtual cluster's Node objects as the apiserver gets them: KWOK's
annotation (the kwok-controller plays nodes that carry it), the labels that
select a cluster, a pool and an owner, and the cluster's taint, so that only
pods placed on this cluster (the workflow-submitter's VIRTUAL placement with
it) ever land there."""

from __future__ import annotations

import re
from typing import Any, Final

from simpipe_events.contract import owner_token
from simpipe_kwok_scaler.clusters.spec import PoolSpec

KWOK_ANNOTATION: Final = "kwok.x-k8s.io/node"
KWOK_ANNOTATION_VALUE: Final = "fake"
NODE_KIND_LABEL: Final = "simpipe.io/node-kind"
NODE_KIND: Final = "kwok"
CLUSTER_LABEL: Final = "simpipe.io/virtual-cluster"
POOL_LABEL: Final = "simpipe.io/pool"
OWNER_LABEL: Final = "simpipe.io/owner"
# The taint of every node of a cluster: `<CLUSTER_LABEL>=<id>:NoSchedule`.
CLUSTER_TAINT_EFFECT: Final = "NoSchedule"

_INDEX = re.compile(r"-(\d+)$")


def owner_hash(owner: str) -> str:
    """The owner token of events and labels (sha256, 32 hex digits)."""
    return owner_token(owner)


def node_prefix(owner: str, cluster: str, pool: str) -> str:
    return f"vc-{owner_hash(owner)[:8]}-{cluster}-{pool}-"


def node_name(owner: str, cluster: str, pool: str, index: int) -> str:
    return f"{node_prefix(owner, cluster, pool)}{index}"


def node_index(name: str) -> int | None:
    found = _INDEX.search(name)
    return int(found.group(1)) if found else None


def cluster_selector(owner: str, cluster: str | None = None, pool: str | None = None) -> str:
    """A label selector of the owner's virtual nodes; narrowed to a cluster and a pool."""
    selector = f"{NODE_KIND_LABEL}={NODE_KIND},{OWNER_LABEL}={owner_hash(owner)}"
    if cluster is not None:
        selector += f",{CLUSTER_LABEL}={cluster}"
    if pool is not None:
        selector += f",{POOL_LABEL}={pool}"
    return selector


def cluster_taint(cluster: str) -> dict[str, str]:
    return {"key": CLUSTER_LABEL, "value": cluster, "effect": CLUSTER_TAINT_EFFECT}


def node_document(owner: str, cluster: str, pool: PoolSpec, index: int) -> dict[str, Any]:
    name = node_name(owner, cluster, pool.name, index)
    resources = {"cpu": pool.cpu, "memory": pool.memory, "pods": str(pool.pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: KWOK_ANNOTATION_VALUE},
            # The pool's labels first: the scaler's own win (they are
            # refused in a pool's spec anyway).
            "labels": {
                **pool.labels,
                NODE_KIND_LABEL: NODE_KIND,
                "type": "kwok",
                CLUSTER_LABEL: cluster,
                POOL_LABEL: pool.name,
                OWNER_LABEL: owner_hash(owner),
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"taints": [cluster_taint(cluster), *(t.document() for t in pool.taints)]},
        # The kwok-controller keeps what the node says it has; Ready and the
        # rest of the status are its own to play.
        "status": {"allocatable": dict(resources), "capacity": dict(resources)},
    }


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
