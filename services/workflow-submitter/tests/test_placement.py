"""Placement and sandbox, typed options of createDryRun, become the
Workflow's node selector, tolerations, node affinity and RuntimeClass."""

import json
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_events.contract import owner_token
from simpipe_workflow_submitter.config import PlacementSettings
from simpipe_workflow_submitter.kube import NodeFacts, Nodes
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


OWNER = "ada"
CLUSTER_TAINT = {"key": "simpipe.io/virtual-cluster", "value": "lab", "effect": "NoSchedule"}
GPU_TAINT = {"key": "example.com/gpu", "value": "", "effect": "NoSchedule"}
TEAM_TAINT = {"key": "team", "value": "ml", "effect": "NoExecute"}


def cluster_node(name: str, owner: str, cluster: str, pool: str) -> NodeFacts:
    """A node of a kwok-scaler virtual cluster, as it labels and taints them."""
    labels = {
        **VIRTUAL,
        "simpipe.io/virtual-cluster": cluster,
        "simpipe.io/pool": pool,
        "simpipe.io/owner": owner_token(owner),
    }
    taints = [{**CLUSTER_TAINT, "value": cluster}]
    if pool == "gpu":
        taints += [GPU_TAINT, TEAM_TAINT]
    return NodeFacts(name, labels, taints)


class KnownNodes(Nodes):
    """The local stack's nodes: one real, one shared KWOK node, and ada's
    virtual cluster `lab` (pools cpu and gpu, the latter tainted)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.all = {
            "simpipe-node": NodeFacts("simpipe-node", REAL, []),
            "kwok-node-0": NodeFacts("kwok-node-0", VIRTUAL, []),
            "vc-cpu-0": cluster_node("vc-cpu-0", OWNER, "lab", "cpu"),
            "vc-gpu-0": cluster_node("vc-gpu-0", OWNER, "lab", "gpu"),
            "vc-bob-0": cluster_node("vc-bob-0", "bob", "bobs", "cpu"),
        }

    async def labels(self, name: str) -> dict[str, str]:
        self.asked.append(name)
        if name not in self.all:
            raise NotFoundError(f"node {name} not found")
        return {"kubernetes.io/hostname": name, **self.all[name].labels}

    async def first(self, selector: Mapping[str, str]) -> NodeFacts | None:
        self.asked.append(",".join(f"{k}={v}" for k, v in selector.items()))
        return next(
            (
                node
                for node in self.all.values()
                if all(node.labels.get(k) == v for k, v in selector.items())
            ),
            None,
        )


def tolerated(tolerations: list[dict[str, Any]], taint: Mapping[str, str]) -> bool:
    """Whether a pod with these tolerations may land on a node with `taint`
    (Kubernetes' matching: same key and effect, Exists or an equal value)."""
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint["effect"]:
            continue
        if toleration.get("key") != taint["key"]:
            continue
        if toleration.get("operator") == "Exists" or toleration.get("value") == taint["value"]:
            return True
    return False


def lands_on(spec: dict[str, Any], node: NodeFacts) -> bool:
    """Whether the scheduler could put a pod of this spec on `node`."""
    selected = all(node.labels.get(k) == v for k, v in spec["nodeSelector"].items())
    tolerations = spec.get("tolerations") or []
    return selected and all(
        tolerated(tolerations, t) for t in node.taints if t["effect"] != "PreferNoSchedule"
    )


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
    cluster: str = "",
    pool: str = "",
    owner: str = OWNER,
) -> dict[str, Any]:
    placement = await placements.resolve(
        pb.Placement(nodes=nodes, node_name=node_name, virtual_cluster=cluster, pool=pool),
        sandbox,
        owner,
    )
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


async def test_on_virtual_nodes_containers_without_a_command_get_one(
    placements: Placements,
) -> None:
    """Argo would look their image's entrypoint up in a registry (the step
    fails when it is out of reach), for a command that never runs there."""
    document = workflow()
    templates = document["spec"]["templates"]
    templates[1]["sidecars"] = [{"name": "s", "image": "nginx"}]
    templates[2]["script"]["command"] = ["python"]
    templates[3]["containerSet"]["containers"] = [{"name": "main", "image": "x"}]
    placement = await placements.resolve(
        pb.Placement(nodes=pb.NODES_VIRTUAL), pb.SANDBOX_UNSPECIFIED, OWNER
    )
    placement.apply(document)
    assert templates[1]["container"]["command"] == ["simulated"]
    assert templates[1]["sidecars"][0]["command"] == ["simulated"]
    assert templates[3]["containerSet"]["containers"][0]["command"] == ["simulated"]
    assert templates[2]["script"]["command"] == ["python"]  # its own is kept
    inline: dict[str, Any] = {"steps": [[{"name": "i", "inline": {"container": {"image": "y"}}}]]}
    dag: dict[str, Any] = {"dag": {"tasks": [{"name": "d", "inline": {"script": {"image": "z"}}}]}}
    placement.apply({"spec": {"templates": [inline, dag]}})
    assert inline["steps"][0][0]["inline"]["container"]["command"] == ["simulated"]
    assert dag["dag"]["tasks"][0]["inline"]["script"]["command"] == ["simulated"]
    real = await placed(placements, pb.NODES_REAL)
    assert "command" not in real["templates"][1]["container"]


async def test_gvisor_is_the_runtime_class_of_every_pod(placements: Placements) -> None:
    spec = await placed(placements, sandbox=pb.SANDBOX_GVISOR)
    assert json.loads(spec["podSpecPatch"]) == {"runtimeClassName": "gvisor"}
    assert "podSpecPatch" not in await placed(placements, sandbox=pb.SANDBOX_NONE)


async def test_an_installation_may_run_every_real_dry_run_in_gvisor(
    nodes: KnownNodes,
) -> None:
    placements = Placements(PlacementSettings(default_sandbox="gvisor"), nodes)
    for sandbox in (pb.SANDBOX_UNSPECIFIED, pb.SANDBOX_GVISOR):
        spec = await placed(placements, sandbox=sandbox)
        assert json.loads(spec["podSpecPatch"]) == {"runtimeClassName": "gvisor"}, sandbox
    with pytest.raises(InvalidInputError, match="sandbox NONE is not allowed here"):
        await placed(placements, sandbox=pb.SANDBOX_NONE)
    # Virtual nodes run no containers: nothing to sandbox there.
    assert "podSpecPatch" not in await placed(placements, pb.NODES_VIRTUAL)


def test_the_default_sandbox_is_checked_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_DEFAULT_SANDBOX", "gvisor")
    assert PlacementSettings().default_sandbox == "gvisor"
    monkeypatch.setenv("SIMPIPE_DEFAULT_SANDBOX", "runc")
    with pytest.raises(ValidationError, match="default_sandbox"):
        PlacementSettings()


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


async def test_a_virtual_cluster_of_the_owners_selects_and_tolerates_its_nodes(
    placements: Placements, nodes: KnownNodes
) -> None:
    spec = await placed(placements, pb.NODES_VIRTUAL, cluster="lab")
    assert spec["nodeSelector"] == {
        **VIRTUAL,
        "simpipe.io/virtual-cluster": "lab",
        "simpipe.io/owner": owner_token(OWNER),
    }
    assert spec["tolerations"] == [{"operator": "Equal", **CLUSTER_TAINT}]
    # Every pod template gets the same.
    pod = next(t for t in spec["templates"] if t["name"] == "a")
    assert (pod["nodeSelector"], pod["tolerations"]) == (spec["nodeSelector"], spec["tolerations"])
    # Without naming the tainted pool its taints keep the pods off it.
    assert lands_on(spec, nodes.all["vc-cpu-0"])
    assert not lands_on(spec, nodes.all["vc-gpu-0"])
    assert not lands_on(spec, nodes.all["kwok-node-0"])
    assert not lands_on(spec, nodes.all["vc-bob-0"])


async def test_a_pool_narrows_the_selector_and_its_own_taints_are_tolerated(
    placements: Placements, nodes: KnownNodes
) -> None:
    spec = await placed(placements, pb.NODES_VIRTUAL, cluster="lab", pool="gpu")
    assert spec["nodeSelector"]["simpipe.io/pool"] == "gpu"
    assert spec["tolerations"] == [
        {"operator": "Equal", **CLUSTER_TAINT},
        {"key": "example.com/gpu", "effect": "NoSchedule", "operator": "Exists"},
        {"key": "team", "effect": "NoExecute", "operator": "Equal", "value": "ml"},
    ]
    assert lands_on(spec, nodes.all["vc-gpu-0"])
    assert not lands_on(spec, nodes.all["vc-cpu-0"])


async def test_dry_runs_without_the_cluster_never_land_on_its_nodes(
    placements: Placements, nodes: KnownNodes
) -> None:
    virtual = await placed(placements, pb.NODES_VIRTUAL)
    real = await placed(placements, pb.NODES_REAL)
    cluster_nodes = [n for n in nodes.all.values() if n.name.startswith("vc-")]
    for spec in (virtual, real):
        assert not any(lands_on(spec, n) for n in cluster_nodes)
    # The shared virtual nodes and the real node stay theirs.
    assert lands_on(virtual, nodes.all["kwok-node-0"])
    assert lands_on(real, nodes.all["simpipe-node"])
    assert not lands_on(real, nodes.all["kwok-node-0"])


async def test_another_owners_or_an_unknown_cluster_or_pool_is_not_found(
    placements: Placements,
) -> None:
    with pytest.raises(NotFoundError, match="virtual cluster bobs not found"):
        await placed(placements, pb.NODES_VIRTUAL, cluster="bobs")
    with pytest.raises(NotFoundError, match="virtual cluster lab not found"):
        await placed(placements, pb.NODES_VIRTUAL, cluster="lab", owner="bob")
    with pytest.raises(NotFoundError, match="virtual cluster nowhere not found"):
        await placed(placements, pb.NODES_VIRTUAL, cluster="nowhere")
    with pytest.raises(NotFoundError, match="has no pool tpu"):
        await placed(placements, pb.NODES_VIRTUAL, cluster="lab", pool="tpu")


@pytest.mark.parametrize(
    ("kind", "cluster", "pool", "message"),
    [
        (pb.NODES_REAL, "lab", "", "VIRTUAL nodes only"),
        (pb.NODES_UNSPECIFIED, "", "gpu", "VIRTUAL nodes only"),
        (pb.NODES_VIRTUAL, "", "gpu", "a pool needs its virtual_cluster"),
        (pb.NODES_VIRTUAL, "Lab", "", "virtual cluster 'Lab' is not valid"),
        (pb.NODES_VIRTUAL, "x" * 25, "", "virtual cluster"),
        (pb.NODES_VIRTUAL, "lab", "a,b=c", "pool 'a,b=c' is not valid"),
    ],
)
async def test_bad_virtual_cluster_placements_are_input_errors(
    placements: Placements,
    nodes: KnownNodes,
    kind: pb.Nodes.ValueType,
    cluster: str,
    pool: str,
    message: str,
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        await placed(placements, kind, cluster=cluster, pool=pool)
    assert nodes.asked == []


async def test_a_named_node_must_be_of_the_cluster(placements: Placements) -> None:
    spec = await placed(placements, pb.NODES_VIRTUAL, "vc-cpu-0", cluster="lab")
    assert spec["affinity"]["nodeAffinity"]
    with pytest.raises(InvalidInputError, match="not a virtual cluster lab's node"):
        await placed(placements, pb.NODES_VIRTUAL, "kwok-node-0", cluster="lab")
