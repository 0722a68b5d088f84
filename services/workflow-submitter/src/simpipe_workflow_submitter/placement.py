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
"""

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError
from simpipe_workflow_submitter import validation
from simpipe_workflow_submitter.config import PlacementSettings
from simpipe_workflow_submitter.kube import Nodes

pb = workflow_submitter_pb2

# Templates whose steps are pods.
POD_TEMPLATE_KINDS = ("container", "script", "containerSet")


@dataclass(frozen=True)
class Placement:
    node_selector: Mapping[str, str]
    tolerations: Sequence[Mapping[str, str | int]]
    node_name: str = ""
    runtime_class: str = ""

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


@dataclass(frozen=True)
class Placements:
    settings: PlacementSettings
    nodes: Nodes

    async def resolve(self, placement: pb.Placement, sandbox: pb.Sandbox.ValueType) -> Placement:
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
        if sandbox == pb.SANDBOX_GVISOR:
            if kind == "virtual":
                raise InvalidInputError(
                    "sandbox GVISOR runs on real nodes only: virtual nodes run no containers"
                )
            runtime_class = self.settings.gvisor_runtime_class
        elif sandbox not in (pb.SANDBOX_UNSPECIFIED, pb.SANDBOX_NONE):
            raise InvalidInputError(f"sandbox: unknown value {sandbox}")
        if placement.node_name:
            name = validation.dns_subdomain("node name", placement.node_name)
            labels = await self.nodes.labels(name)
            if any(labels.get(key) != value for key, value in selector.items()):
                raise InvalidInputError(f"node {name} is not a {kind} node")
        return Placement(selector, tolerations, placement.node_name, runtime_class)
