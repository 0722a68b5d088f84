"""A virtual cluster's pools as asked: every field checked, typed errors
that name what is wrong, and the node documents the checked pools become."""

from __future__ import annotations

from typing import Any

import pytest

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import InvalidInputError
from simpipe_events.contract import owner_token
from simpipe_kwok_scaler.clusters import spec
from simpipe_kwok_scaler.clusters.nodes import cluster_selector, is_ready, node_document
from simpipe_kwok_scaler.config import VirtualClusterSettings

SETTINGS = VirtualClusterSettings()


def pool(**given: Any) -> pb.NodePool:
    fields: dict[str, Any] = {"name": "p", "count": 2, "cpu": "4", "memory": "16Gi", "pods": 10}
    return pb.NodePool(**(fields | given))


def test_a_good_pool_is_kept_as_written() -> None:
    (checked,) = spec.pools(
        [
            pool(
                cpu="500m",
                memory="1.5Gi",
                labels={"topology.kubernetes.io/zone": "eu-1a", "tier": ""},
                taints=[pb.Taint(key="example.com/gpu", effect="NoSchedule")],
            )
        ],
        SETTINGS,
    )
    assert (checked.name, checked.count, checked.cpu, checked.memory, checked.pods) == (
        "p",
        2,
        "500m",
        "1.5Gi",
        10,
    )
    assert dict(checked.labels) == {"tier": "", "topology.kubernetes.io/zone": "eu-1a"}
    assert checked.taints == (spec.Taint("example.com/gpu", "", "NoSchedule"),)
    # A new pool has nodes: an empty one is refused (a resize may empty it).
    with pytest.raises(InvalidInputError, match=r"a pool has 1 to .* when it is created"):
        spec.pools([pool(count=0)], SETTINGS)
    assert spec.node_count("p", 0, SETTINGS) == 0


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"count": -1}, "count -1 is out of range"),
        ({"count": 1_000_000_000}, "count 1000000000 is out of range"),
        ({"count": SETTINGS.max_pool_nodes + 1}, "out of range"),
        ({"name": ""}, "pool name"),
        ({"name": "Big_Pool"}, "pool name"),
        ({"name": "a" * 21}, "pool name"),
        ({"cpu": ""}, "not a Kubernetes quantity"),
        ({"cpu": "four"}, "not a Kubernetes quantity"),
        ({"cpu": " 4"}, "not a Kubernetes quantity"),
        ({"cpu": "0"}, "out of range"),
        ({"cpu": "-2"}, "out of range"),
        ({"cpu": "5000"}, "out of range"),
        ({"cpu": "1" * 40}, "not a Kubernetes quantity"),
        ({"memory": "0Gi"}, "out of range"),
        ({"memory": "1Ei"}, "out of range"),
        ({"memory": "16GB"}, "not a Kubernetes quantity"),
        ({"pods": 0}, "pods 0 is out of range"),
        ({"pods": -5}, "pods -5 is out of range"),
        ({"pods": SETTINGS.max_node_pods + 1}, "out of range"),
        ({"labels": {"simpipe.io/pool": "x"}}, "reserved"),
        ({"labels": {"team.simpipe.io/x": "y"}}, "reserved"),
        ({"labels": {"kwok.x-k8s.io/node": "fake"}}, "reserved"),
        ({"labels": {"type": "real"}}, "reserved"),
        ({"labels": {"kubernetes.io/hostname": "n"}}, "reserved"),
        ({"labels": {"a b": "c"}}, "not a valid key"),
        ({"labels": {"UPPER.example/x": "c"}}, "not a valid key"),
        ({"labels": {"ok": "no spaces"}}, "is not valid"),
        ({"labels": {f"l{i}": "" for i in range(33)}}, "at most 32"),
        ({"taints": [pb.Taint(key="k", effect="Sometimes")]}, "effect"),
        ({"taints": [pb.Taint(key="k", effect="")]}, "effect"),
        ({"taints": [pb.Taint(key="simpipe.io/virtual-cluster", effect="NoSchedule")]}, "reserved"),
        (
            {"taints": [pb.Taint(key="node.kubernetes.io/not-ready", effect="NoExecute")]},
            "reserved",
        ),
        ({"taints": [pb.Taint(key="k", value="a b", effect="NoSchedule")]}, "is not valid"),
        ({"taints": [pb.Taint(key="k", effect="NoSchedule")] * 2}, "given twice"),
    ],
)
def test_bad_pools_are_input_errors(given: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec.pools([pool(**given)], SETTINGS)


def test_the_cluster_as_a_whole() -> None:
    with pytest.raises(InvalidInputError, match="at least one pool"):
        spec.pools([], SETTINGS)
    with pytest.raises(InvalidInputError, match="unique in a cluster: p"):
        spec.pools([pool(), pool(count=3)], SETTINGS)
    with pytest.raises(InvalidInputError, match="at most 16"):
        spec.pools([pool(name=f"p{i}") for i in range(17)], SETTINGS)
    for bad in ("", "Upper", "-x", "a" * 25, "a.b"):
        with pytest.raises(InvalidInputError, match="virtual cluster id"):
            spec.cluster_id(bad)
    assert spec.cluster_id("a" * 24) == "a" * 24


def test_a_pools_record_reads_back_the_same() -> None:
    (checked,) = spec.pools(
        [pool(labels={"a": "b"}, taints=[pb.Taint(key="k", value="v", effect="NoExecute")])],
        SETTINGS,
    )
    assert spec.PoolSpec.from_record(checked.record()) == checked
    assert checked.resized(7).count == 7
    assert checked.resized(7).taints == checked.taints


def test_a_node_is_a_kwok_node_of_its_cluster_pool_and_owner_with_the_clusters_taint() -> None:
    (checked,) = spec.pools(
        [
            pool(
                labels={"zone": "a"}, taints=[pb.Taint(key="gpu", value="yes", effect="NoSchedule")]
            )
        ],
        SETTINGS,
    )
    node = node_document("ada@example.org", "lab", checked, 3)
    name = f"vc-{owner_token('ada@example.org')[:8]}-lab-p-3"
    assert node["metadata"]["name"] == name
    assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    labels = node["metadata"]["labels"]
    assert labels == {
        "zone": "a",
        "simpipe.io/node-kind": "kwok",
        "type": "kwok",
        "simpipe.io/virtual-cluster": "lab",
        "simpipe.io/pool": "p",
        "simpipe.io/owner": owner_token("ada@example.org"),
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }
    assert node["spec"]["taints"] == [
        {"key": "simpipe.io/virtual-cluster", "value": "lab", "effect": "NoSchedule"},
        {"key": "gpu", "value": "yes", "effect": "NoSchedule"},
    ]
    resources = {"cpu": "4", "memory": "16Gi", "pods": "10"}
    assert node["status"] == {"allocatable": resources, "capacity": resources}
    # Its labels are what selects it.
    selector = dict(
        term.split("=") for term in cluster_selector("ada@example.org", "lab", "p").split(",")
    )
    assert selector.items() <= labels.items()


def test_the_longest_names_still_fit_a_hostname_label() -> None:
    (checked,) = spec.pools([pool(name="p" * 20)], SETTINGS)
    node = node_document("o", "c" * 24, checked, SETTINGS.max_pool_nodes - 1)
    assert len(node["metadata"]["labels"]["kubernetes.io/hostname"]) <= 63


def test_ready_is_the_ready_condition() -> None:
    assert is_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not is_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not is_ready({"status": {}})
