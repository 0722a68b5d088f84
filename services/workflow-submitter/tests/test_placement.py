"""Placement and sandbox, typed options of createDryRun, become the
Workflow's node selector, tolerations, node affinity and RuntimeClass."""

import json
from typing import Any

import pytest

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_workflow_submitter.config import PlacementSettings
from simpipe_workflow_submitter.kube import Nodes
from simpipe_workflow_submitter.placement import Placements

pb = workflow_submitter_pb2
REAL = {"simpipe.io/node-kind": "real"}
VIRTUAL = {"simpipe.io/node-kind": "kwok"}
REAL_TOLERATION = {
    "key": "simpipe.io/node-kind",
    "operator": "Equal",
    "value": "real",
    "effect": "NoSchedule",
}


class KnownNodes(Nodes):
    """The local stack's nodes: one real, one KWOK node."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def labels(self, name: str) -> dict[str, str]:
        self.asked.append(name)
        found = {"simpipe-node": REAL, "kwok-node-0": VIRTUAL}
        if name not in found:
            raise NotFoundError(f"node {name} not found")
        return {"kubernetes.io/hostname": name, **found[name]}


def workflow() -> dict[str, Any]:
    return {
        "spec": {
            "templates": [
                {"name": "main", "steps": [[{"name": "a", "template": "a"}]]},
                {"name": "a", "container": {"image": "busybox"}},
                {"name": "b", "script": {"image": "python", "source": "1"}},
                {"name": "c", "containerSet": {"containers": []}},
                {"name": "wait", "suspend": {}},
            ]
        }
    }


@pytest.fixture
def nodes() -> KnownNodes:
    return KnownNodes()


@pytest.fixture
def placements(nodes: KnownNodes) -> Placements:
    return Placements(PlacementSettings(), nodes)


async def placed(
    placements: Placements,
    nodes: pb.Nodes.ValueType = pb.NODES_UNSPECIFIED,
    node_name: str = "",
    sandbox: pb.Sandbox.ValueType = pb.SANDBOX_UNSPECIFIED,
) -> dict[str, Any]:
    placement = await placements.resolve(pb.Placement(nodes=nodes, node_name=node_name), sandbox)
    document = workflow()
    placement.apply(document)
    spec: dict[str, Any] = document["spec"]
    return spec


@pytest.mark.parametrize("kind", [pb.NODES_UNSPECIFIED, pb.NODES_REAL])
async def test_real_nodes_by_default_on_the_workflow_and_each_pod_template(
    placements: Placements, kind: pb.Nodes.ValueType
) -> None:
    spec = await placed(placements, kind)
    assert spec["nodeSelector"] == REAL
    assert spec["tolerations"] == [REAL_TOLERATION]
    pods = [t for t in spec["templates"] if t["name"] in ("a", "b", "c")]
    assert all(t["nodeSelector"] == REAL and t["tolerations"] == [REAL_TOLERATION] for t in pods)
    others = [t for t in spec["templates"] if t["name"] in ("main", "wait")]
    assert not any("nodeSelector" in t for t in others)
    assert not {"affinity", "podSpecPatch"} & set(spec)


async def test_virtual_nodes_need_no_toleration(placements: Placements) -> None:
    spec = await placed(placements, pb.NODES_VIRTUAL)
    assert spec["nodeSelector"] == VIRTUAL
    assert "tolerations" not in spec


async def test_gvisor_is_the_runtime_class_of_every_pod(placements: Placements) -> None:
    spec = await placed(placements, sandbox=pb.SANDBOX_GVISOR)
    assert json.loads(spec["podSpecPatch"]) == {"runtimeClassName": "gvisor"}
    assert "podSpecPatch" not in await placed(placements, sandbox=pb.SANDBOX_NONE)


async def test_gvisor_on_virtual_nodes_is_an_input_error(placements: Placements) -> None:
    with pytest.raises(InvalidInputError, match="real nodes only"):
        await placed(placements, pb.NODES_VIRTUAL, sandbox=pb.SANDBOX_GVISOR)


@pytest.mark.parametrize(
    ("kind", "name"), [(pb.NODES_REAL, "simpipe-node"), (pb.NODES_VIRTUAL, "kwok-node-0")]
)
async def test_a_node_of_the_kind_is_required_by_name(
    placements: Placements, kind: pb.Nodes.ValueType, name: str
) -> None:
    spec = await placed(placements, kind, name)
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}
        ]
    }


async def test_a_node_of_the_other_kind_or_none_at_all_is_refused(
    placements: Placements, nodes: KnownNodes
) -> None:
    with pytest.raises(InvalidInputError, match="node kwok-node-0 is not a real node"):
        await placed(placements, pb.NODES_REAL, "kwok-node-0")
    with pytest.raises(InvalidInputError, match="node simpipe-node is not a virtual node"):
        await placed(placements, pb.NODES_VIRTUAL, "simpipe-node")
    with pytest.raises(NotFoundError, match="node nowhere not found"):
        await placed(placements, node_name="nowhere")
    # Not a node name at all: refused before the API is asked.
    asked = list(nodes.asked)
    for name in ("Simpipe-Node", "a..b", "x" * 254, "node/../other"):
        with pytest.raises(InvalidInputError, match="node name"):
            await placed(placements, node_name=name)
    assert nodes.asked == asked


def test_the_node_kinds_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_REAL_NODE_SELECTOR", '{"pool": "dry-runs"}')
    monkeypatch.setenv("SIMPIPE_REAL_NODE_TOLERATIONS", "[]")
    monkeypatch.setenv("SIMPIPE_GVISOR_RUNTIME_CLASS", "runsc")
    settings = PlacementSettings()
    assert (settings.real_node_selector, settings.real_node_tolerations) == (
        {"pool": "dry-runs"},
        [],
    )
    assert settings.gvisor_runtime_class == "runsc"
    assert PlacementSettings.model_fields["virtual_node_selector"].default == VIRTUAL
