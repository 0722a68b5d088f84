"""When a daemon step on a virtual node ends. Argo stops a daemon at the end
of its scope by signalling its containers through `exec` (pod/queue.go,
terminateContainers) after marking its node Succeeded; KWOK pods have no
processes to signal, so the pod would run on. The emulation ends it
instead, as soon as Argo has let its node go. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from simpipe_common.argo_nodes import workflow_nodes

FULFILLED_NODE_PHASES = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
COMPLETED_WORKFLOW_PHASES = frozenset({"Succeeded", "Failed", "Error"})


def daemon_stop_reason(workflow: Mapping[str, Any] | None, node_id: str) -> str | None:
    """Why the daemon of node `node_id` should end now, or None while Argo
    still keeps it (the node is running and daemoned). A missing workflow
    (deleted) ends it too. Offloaded node statuses are not read: such a
    daemon ends with its workflow."""
    if workflow is None:
        return "workflow deleted"
    status = workflow.get("status") or {}
    phase = status.get("phase")
    if phase in COMPLETED_WORKFLOW_PHASES:
        return f"workflow {phase}"
    node = workflow_nodes(status).get(node_id)
    if not isinstance(node, Mapping):
        return None
    node_phase = node.get("phase")
    if node_phase in FULFILLED_NODE_PHASES:
        return f"node {node_phase}"
    return None


def ran_for(started_at: datetime | None, now: datetime) -> str | None:
    """How long a daemon ran, as a Go duration (millisecond precision), or
    None if it never started."""
    if started_at is None:
        return None
    return f"{max((now - started_at).total_seconds(), 0.0):.3f}s"
