"""The node a dry run runs on, for the original API's `DryRun.nodeName`:
read from the Workflow the watcher hands over (spec and status), never
asked of the cluster again."""

from collections.abc import Mapping
from typing import Any

from simpipe_common.argo_nodes import workflow_nodes


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def pods_node(workflow: Mapping[str, Any]) -> str | None:
    """The node of the run's first pod to start that has one (Argo's
    `hostNodeName` of its Pod nodes)."""
    nodes = workflow_nodes(workflow.get("status"))
    placed = [
        (str(node.get("startedAt") or ""), str(node["hostNodeName"]))
        for node in map(_mapping, nodes.values())
        if node.get("type") == "Pod" and isinstance(node.get("hostNodeName"), str)
        if node["hostNodeName"]
    ]
    return min(placed)[1] if placed else None


def requested_node(workflow: Mapping[str, Any]) -> str | None:
    """The one node the run was placed on at its creation (createDryRun's
    nodeName, written by the submitter as a required node affinity)."""
    required = _mapping(
        _mapping(_mapping(_mapping(workflow.get("spec")).get("affinity")).get("nodeAffinity")).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
    )
    for term in map(_mapping, _list(required.get("nodeSelectorTerms"))):
        for field in map(_mapping, _list(term.get("matchFields"))):
            values = _list(field.get("values"))
            if (
                field.get("key") == "metadata.name"
                and field.get("operator") == "In"
                and len(values) == 1
                and isinstance(values[0], str)
            ):
                return values[0]
    return None


def run_node_name(workflow: object) -> str | None:
    """Where the run's pods ran; before any did, where it was placed; else None."""
    document = _mapping(workflow)
    return pods_node(document) or requested_node(document)
