"""Where a dry run's pods run and in which sandbox: typed options of
createDryRun that the service writes into the Workflow. Documents may not
set these fields; the policy refuses them.

Real nodes (the default) and virtual (KWOK) nodes are each a node selector
and tolerations (settings). A node name narrows either to that one node, by
a required node affinity on its name (the scheduler still checks fit and
taints), once the node is known to exist and to be of that kind. gVisor
runs every pod of the dry run under its RuntimeClass; Argo's Workflow has no
runtimeClassName field, so the service sets it with a pod spec patch of its
own. Virtual nodes run nothing, so gVisor there is refused.

A virtual cluster of the kwok-scaler's (VIRTUAL only) narrows the virtual
nodes to that cluster of the caller's, and optionally to one of its pools:
its nodes carry the cluster, pool and owner-hash labels and the cluster's
NoSchedule taint, which only a placement naming the cluster tolerates, so
no other dry run ever lands there. Taints a user gave a pool are tolerated
only when the placement names that pool (as a pod that chose a tainted
node group would). The cluster, and the pool, exist for this owner when
nodes of theirs do: a cluster (or pool) with no nodes is NOT_FOUND too.
"""

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_events.contract import owner_token
from simpipe_workflow_submitter import validation
from simpipe_workflow_submitter.config import PlacementSettings
from simpipe_workflow_submitter.kube import Nodes

pb = workflow_submitter_pb2

# Templates whose steps are pods.
POD_TEMPLATE_KINDS = ("container", "script", "containerSet")

# What a container with no command of its own is given on virtual nodes.
# Nothing runs there, but Argo's controller looks such an image's entrypoint
# up in its registry before it makes the pod, and fails the step when the
# registry is out of reach: for a command no one would run.
VIRTUAL_COMMAND = ("simulated",)

# The kwok-scaler's labels and taint on a virtual cluster's nodes.
CLUSTER_LABEL = "simpipe.io/virtual-cluster"
POOL_LABEL = "simpipe.io/pool"
OWNER_LABEL = "simpipe.io/owner"
# The kwok-scaler's bounds of cluster ids and pool names.
MAX_CLUSTER_ID_LENGTH = 24
MAX_POOL_NAME_LENGTH = 20


@dataclass(frozen=True)
class Placement:
    node_selector: Mapping[str, str]
    tolerations: Sequence[Mapping[str, str | int]]
    node_name: str = ""
    runtime_class: str = ""
    virtual: bool = False

    def _scheduling(self) -> dict[str, Any]:
        scheduling: dict[str, Any] = {"nodeSelector": dict(self.node_selector)}
        if self.tolerations:
            scheduling["tolerations"] = [dict(t) for t in self.tolerations]
        return scheduling

    def apply(self, document: dict[str, Any]) -> None:
        """Write this placement into a Workflow the policy has admitted: on
        the workflow, and again on each of its templates that runs a pod."""
        spec = document["spec"]
        spec.update(self._scheduling())
        for template in spec.get("templates") or []:
            if any(kind in template for kind in POD_TEMPLATE_KINDS):
                template.update(copy.deepcopy(self._scheduling()))
            if self.virtual:
                for pod_template in (template, *_inline_templates(template)):
                    _name_commands(pod_template)
        if self.node_name:
            term = {
                "matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [self.node_name]}
                ]
            }
            spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
                }
            }
        if self.runtime_class:
            spec["podSpecPatch"] = json.dumps({"runtimeClassName": self.runtime_class})


def _inline_templates(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Templates written inline in a steps or DAG template's steps."""
    steps = [step for group in template.get("steps") or [] for step in group or []]
    tasks = (template.get("dag") or {}).get("tasks") or []
    return [
        step["inline"]
        for step in [*steps, *tasks]
        if isinstance(step, dict) and isinstance(step.get("inline"), dict)
    ]


def _name_commands(template: dict[str, Any]) -> None:
    containers = [
        template.get("container"),
        template.get("script"),
        *((template.get("containerSet") or {}).get("containers") or []),
        *(template.get("sidecars") or []),
    ]
    for container in containers:
        if isinstance(container, dict) and not container.get("command"):
            container["command"] = list(VIRTUAL_COMMAND)


@dataclass(frozen=True)
class Placements:
    settings: PlacementSettings
    nodes: Nodes

    async def resolve(
        self, placement: pb.Placement, sandbox: pb.Sandbox.ValueType, owner: str
    ) -> Placement:
        if placement.nodes == pb.NODES_VIRTUAL:
            kind = "virtual"
            selector = self.settings.virtual_node_selector
            tolerations = self.settings.virtual_node_tolerations
        elif placement.nodes in (pb.NODES_UNSPECIFIED, pb.NODES_REAL):
            kind = "real"
            selector = self.settings.real_node_selector
            tolerations = self.settings.real_node_tolerations
        else:
            raise InvalidInputError(f"placement: unknown nodes {placement.nodes}")
        runtime_class = ""
        forced = self.settings.default_sandbox == "gvisor" and kind == "real"
        if forced and sandbox == pb.SANDBOX_NONE:
            raise InvalidInputError(
                "sandbox NONE is not allowed here: this installation runs every dry run on "
                "real nodes in gVisor (leave the sandbox unset or ask for GVISOR)"
            )
        if sandbox == pb.SANDBOX_GVISOR or (forced and sandbox == pb.SANDBOX_UNSPECIFIED):
            if kind == "virtual":
                raise InvalidInputError(
                    "sandbox GVISOR runs on real nodes only: virtual nodes run no containers"
                )
            runtime_class = self.settings.gvisor_runtime_class
        elif sandbox not in (pb.SANDBOX_UNSPECIFIED, pb.SANDBOX_NONE):
            raise InvalidInputError(f"sandbox: unknown value {sandbox}")
        if placement.virtual_cluster or placement.pool:
            if kind != "virtual":
                raise InvalidInputError(
                    "placement: a virtual cluster and pool are for VIRTUAL nodes only"
                )
            selector, tolerations = await self._virtual_cluster(placement, owner)
            kind = f"virtual cluster {placement.virtual_cluster}'s"
        if placement.node_name:
            name = validation.dns_subdomain("node name", placement.node_name)
            labels = await self.nodes.labels(name)
            if any(labels.get(key) != value for key, value in selector.items()):
                raise InvalidInputError(f"node {name} is not a {kind} node")
        return Placement(
            selector, tolerations, placement.node_name, runtime_class,
            virtual=placement.nodes == pb.NODES_VIRTUAL,
        )  # fmt: skip

    async def _virtual_cluster(
        self, placement: pb.Placement, owner: str
    ) -> tuple[dict[str, str], list[dict[str, str | int]]]:
        """The node selector and tolerations of a cluster (and pool) of the
        owner's; NotFoundError when no node of theirs is one."""
        if not placement.virtual_cluster:
            raise InvalidInputError("placement: a pool needs its virtual_cluster")
        cluster = validation.dns_label(
            "virtual cluster", placement.virtual_cluster, MAX_CLUSTER_ID_LENGTH
        )
        selector = {
            **self.settings.virtual_node_selector,
            CLUSTER_LABEL: cluster,
            # Ids are unique per owner only: another owner's cluster of the
            # same id is neither found nor used.
            OWNER_LABEL: owner_token(owner),
        }
        tolerations: list[dict[str, str | int]] = [
            *self.settings.virtual_node_tolerations,
            {"key": CLUSTER_LABEL, "operator": "Equal", "value": cluster, "effect": "NoSchedule"},
        ]
        if placement.pool:
            selector[POOL_LABEL] = validation.dns_label(
                "pool", placement.pool, MAX_POOL_NAME_LENGTH
            )
        node = await self.nodes.first(selector)
        if node is None:
            if placement.pool:
                raise NotFoundError(
                    f"virtual cluster {cluster} has no pool {placement.pool} with nodes"
                )
            raise NotFoundError(f"virtual cluster {cluster} not found (or it has no nodes)")
        if placement.pool:
            tolerations.extend(
                _toleration(taint) for taint in node.taints if taint.get("key") != CLUSTER_LABEL
            )
        return selector, tolerations


def _toleration(taint: Mapping[str, str]) -> dict[str, str | int]:
    toleration: dict[str, str | int] = {"key": taint["key"], "effect": taint["effect"]}
    if taint.get("value"):
        toleration.update(operator="Equal", value=taint["value"])
    else:
        toleration["operator"] = "Exists"
    return toleration
