"""Virtual clusters over an apiserver in memory: quota, owner scoping,
records that survive the process, nodes made to match them, and nothing
left behind when a create fails half-way."""

from __future__ import annotations

import copy
import json
from typing import Any

import grpc
import pytest

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import (
    ConflictError,
    FailedPreconditionError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from simpipe_events.contract import owner_token
from simpipe_kwok_scaler.clusters import Kube, QuotaExceededError, VirtualClusters
from simpipe_kwok_scaler.clusters.scrape import CLASSES
from simpipe_kwok_scaler.clusters.scrape_discovery import ScrapeDiscovery
from simpipe_kwok_scaler.config import VirtualClusterSettings


def matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=")
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=")
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


class Objects:
    """Named objects with labels, as the apiserver keeps them."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.fail_after: int | None = None
        self.writes = 0

    async def create(self, document: dict[str, Any]) -> None:
        self.writes += 1
        if self.fail_after is not None and self.writes > self.fail_after:
            raise UnavailableError("the apiserver stopped answering")
        name = document["metadata"]["name"]
        if name in self.items:
            raise ConflictError(f"{name} already exists")
        self.items[name] = {
            **copy.deepcopy(document),
            "metadata": {**document["metadata"], "resourceVersion": "1"},
        }

    async def delete(self, name: str) -> None:
        self.items.pop(name, None)

    async def delete_all(self, selector: str) -> None:
        for found in await self.matching(selector):
            await self.delete(found["metadata"]["name"])

    async def matching(self, selector: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(o)
            for o in self.items.values()
            if matches(o["metadata"].get("labels") or {}, selector)
        ]

    async def read(self, name: str) -> dict[str, Any]:
        if name not in self.items:
            raise NotFoundError(f"{name} not found")
        return copy.deepcopy(self.items[name])

    async def replace(self, document: dict[str, Any]) -> None:
        name = document["metadata"]["name"]
        current = self.items[name]["metadata"]["resourceVersion"]
        if document["metadata"].get("resourceVersion") != current:
            raise ConflictError("changed")
        updated = copy.deepcopy(document)
        updated["metadata"]["resourceVersion"] = str(int(current) + 1)
        self.items[name] = updated


class RunningWorkflows:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    async def unfinished(self, selector: str) -> list[dict[str, Any]]:
        return [w for w in self.items if matches(w["metadata"]["labels"], selector)]


class Apiserver:
    def __init__(self) -> None:
        self.nodes = Objects()
        self.records = Objects()
        self.workflows = RunningWorkflows()

    def scaler(self, **settings: Any) -> VirtualClusters:
        """A kwok-scaler process over this apiserver (a new one per call,
        as after a restart)."""
        clusters = VirtualClusters(VirtualClusterSettings(**settings), Kube(None, 1, 1.0))
        clusters.nodes = self.nodes  # type: ignore[assignment]
        clusters.records = self.records  # type: ignore[assignment]
        clusters.workflows = self.workflows  # type: ignore[assignment]
        return clusters

    def node_names(self) -> list[str]:
        return sorted(self.nodes.items)


def pool(name: str = "p", count: int = 2) -> pb.NodePool:
    return pb.NodePool(name=name, count=count, cpu="2", memory="4Gi", pods=10)


def create(owner: str, cluster: str, *pools: pb.NodePool) -> pb.CreateVirtualClusterRequest:
    return pb.CreateVirtualClusterRequest(caller=owner, id=cluster, pools=list(pools))


@pytest.fixture
def apiserver() -> Apiserver:
    return Apiserver()


async def test_create_makes_the_nodes_and_a_record_a_restart_reads(apiserver: Apiserver) -> None:
    made = await apiserver.scaler().create(create("ada", "lab", pool("a", 2), pool("b", 1)))
    assert [(p.name, p.count) for p in made.pools] == [("a", 2), ("b", 1)]
    assert len(apiserver.node_names()) == 3
    assert all(n.startswith("vc-") and "-lab-" in n for n in apiserver.node_names())
    (record,) = apiserver.records.items.values()
    assert record["metadata"]["annotations"] == {"simpipe.io/owner": "ada"}
    # Another process of the scaler reads the same cluster.
    again = await apiserver.scaler().get(pb.VirtualClusterRef(caller="ada", id="lab"))
    assert (again.id, again.owner, again.created_at) == ("lab", "ada", made.created_at)
    assert [(p.name, p.count) for p in again.pools] == [("a", 2), ("b", 1)]


async def test_ready_counts_the_nodes_kwok_made_ready(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler()
    await scaler.create(create("ada", "lab", pool("a", 3)))
    first = apiserver.node_names()[0]
    apiserver.nodes.items[first]["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    got = await scaler.get(pb.VirtualClusterRef(caller="ada", id="lab"))
    assert [(p.count, p.ready) for p in got.pools] == [(3, 1)]


async def test_another_owner_gets_not_found_and_may_use_the_same_id(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler()
    await scaler.create(create("ada", "lab", pool()))
    for call in (
        scaler.get(pb.VirtualClusterRef(caller="bob", id="lab")),
        scaler.delete(pb.VirtualClusterRef(caller="bob", id="lab")),
        scaler.resize(pb.ResizeVirtualClusterRequest(caller="bob", id="lab", counts={"p": 1})),
    ):
        with pytest.raises(NotFoundError, match="virtual cluster lab not found"):
            await call
    assert (await scaler.list_clusters(pb.ListVirtualClustersRequest(caller="bob"))).clusters == []
    await scaler.create(create("bob", "lab", pool()))
    assert len(apiserver.node_names()) == 4
    with pytest.raises(ConflictError, match="lab already exists"):
        await scaler.create(create("ada", "lab", pool()))
    assert [
        c.id
        for c in (await scaler.list_clusters(pb.ListVirtualClustersRequest(caller="ada"))).clusters
    ] == ["lab"]


async def test_quota_per_owner_for_the_stack_and_of_clusters(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler(max_owner_nodes=5, max_total_nodes=8, max_owner_clusters=2)
    await scaler.create(create("ada", "one", pool(count=4)))
    with pytest.raises(QuotaExceededError, match="your virtual nodes to 6; you may have 5"):
        await scaler.create(create("ada", "two", pool(count=2)))
    with pytest.raises(QuotaExceededError, match="to 6"):
        await scaler.resize(pb.ResizeVirtualClusterRequest(caller="ada", id="one", counts={"p": 6}))
    await scaler.create(create("bob", "b", pool(count=4)))
    with pytest.raises(QuotaExceededError, match="the stack's virtual nodes to 9"):
        await scaler.create(create("cyd", "c", pool(count=1)))
    # Room for nodes, so only the count of clusters refuses the third.
    await scaler.resize(pb.ResizeVirtualClusterRequest(caller="ada", id="one", counts={"p": 2}))
    await scaler.create(create("ada", "two", pool(count=1)))
    with pytest.raises(QuotaExceededError, match="2 virtual clusters"):
        await scaler.create(create("ada", "three", pool(count=1)))
    assert QuotaExceededError.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Refused: nothing of them was made.
    assert len(apiserver.records.items) == 3
    assert len(apiserver.node_names()) == 7


async def test_resize_adds_and_removes_nodes_and_keeps_pools_not_named(
    apiserver: Apiserver,
) -> None:
    scaler = apiserver.scaler()
    await scaler.create(create("ada", "lab", pool("a", 2), pool("b", 3)))
    resized = await scaler.resize(
        pb.ResizeVirtualClusterRequest(caller="ada", id="lab", counts={"a": 4})
    )
    assert [(p.name, p.count) for p in resized.pools] == [("a", 4), ("b", 3)]
    assert len(apiserver.node_names()) == 7
    await scaler.resize(
        pb.ResizeVirtualClusterRequest(caller="ada", id="lab", counts={"b": 0, "a": 1})
    )
    names = apiserver.node_names()
    assert len(names) == 1
    assert names[0].endswith("-lab-a-0")
    for counts, message in (
        ({"c": 1}, "has no pool c"),
        ({"a": -1}, "out of range"),
        ({}, "names no pool"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            await scaler.resize(
                pb.ResizeVirtualClusterRequest(caller="ada", id="lab", counts=counts)
            )


async def listed_in(scaler: VirtualClusters, apiserver: Apiserver, cluster: str) -> set[str]:
    """The scrape classes whose discovery lists the cluster's nodes: every
    node it has, each in one class only."""
    nodes = {
        n["metadata"]["name"]
        for n in await apiserver.nodes.matching(f"simpipe.io/virtual-cluster={cluster}")
    }
    found: dict[str, list[str]] = {}
    for scrape in CLASSES:
        for name in await scaler.scrape_targets(scrape):
            if name in nodes:
                found.setdefault(name, []).append(scrape)
    assert set(found) == nodes
    assert all(len(classes) == 1 for classes in found.values()), found
    return {classes[0] for classes in found.values()}


async def test_a_small_cluster_is_scraped_fast_and_a_resize_past_the_bound_moves_it(
    apiserver: Apiserver,
) -> None:
    # Pools of 10-pod nodes: 2 nodes hold 20 pods, 8 nodes 80.
    scaler = apiserver.scaler(fast_scrape_max_nodes=16, fast_scrape_max_pods=64)
    await scaler.create(create("ada", "lab", pool("a", 2)))
    assert await listed_in(scaler, apiserver, "lab") == {"fast"}
    await scaler.resize(pb.ResizeVirtualClusterRequest(caller="ada", id="lab", counts={"a": 8}))
    assert await listed_in(scaler, apiserver, "lab") == {"standard"}
    assert len(apiserver.node_names()) == 8
    await scaler.resize(pb.ResizeVirtualClusterRequest(caller="ada", id="lab", counts={"a": 6}))
    assert await listed_in(scaler, apiserver, "lab") == {"fast"}
    # The node bound counts too: 20 one-pod nodes are too many.
    await scaler.create(
        create("ada", "wide", pb.NodePool(name="w", count=20, cpu="1", memory="1Gi", pods=1))
    )
    assert await listed_in(scaler, apiserver, "wide") == {"standard"}
    assert await listed_in(scaler, apiserver, "lab") == {"fast"}


async def test_the_biggest_clusters_are_scraped_coarsely(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler(standard_scrape_max_nodes=10)
    await scaler.create(create("ada", "huge", pool("a", 11)))
    assert await listed_in(scaler, apiserver, "huge") == {"coarse"}
    await scaler.resize(pb.ResizeVirtualClusterRequest(caller="ada", id="huge", counts={"a": 10}))
    assert await listed_in(scaler, apiserver, "huge") == {"standard"}


async def test_a_create_that_fails_half_way_leaves_nothing(apiserver: Apiserver) -> None:
    apiserver.nodes.fail_after = 3
    with pytest.raises(UnavailableError):
        await apiserver.scaler().create(create("ada", "lab", pool(count=6)))
    assert apiserver.node_names() == []
    assert apiserver.records.items == {}


async def test_delete_is_refused_while_unfinished_runs_are_placed_on_it(
    apiserver: Apiserver,
) -> None:
    scaler = apiserver.scaler()
    await scaler.create(create("ada", "lab", pool()))
    run: dict[str, Any] = {
        "metadata": {
            "name": "sim-0",
            "labels": {"simpipe.io/managed": "true", "simpipe.io/owner-hash": _hash("ada")},
        },
        "spec": {"nodeSelector": {"simpipe.io/virtual-cluster": "lab"}},
    }
    elsewhere = copy.deepcopy(run)
    elsewhere["metadata"]["name"] = "other"
    elsewhere["spec"]["nodeSelector"] = {"simpipe.io/node-kind": "kwok"}
    apiserver.workflows.items = [run, elsewhere]
    with pytest.raises(FailedPreconditionError, match=r"in use by unfinished runs \(sim-0\)"):
        await scaler.delete(pb.VirtualClusterRef(caller="ada", id="lab"))
    assert len(apiserver.node_names()) == 2
    run["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert (await scaler.delete(pb.VirtualClusterRef(caller="ada", id="lab"))).deleted
    assert apiserver.node_names() == []
    assert apiserver.records.items == {}


async def test_reconciling_finishes_what_a_crash_left(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler()
    await scaler.create(create("ada", "lab", pool(count=3)))
    lost = apiserver.node_names()[1]
    await apiserver.nodes.delete(lost)
    # A node of a cluster whose record is gone (a crash mid-delete).
    orphan = copy.deepcopy(apiserver.nodes.items[apiserver.node_names()[0]])
    orphan["metadata"]["name"] = "vc-00000000-gone-p-0"
    orphan["metadata"]["labels"]["simpipe.io/virtual-cluster"] = "gone"
    apiserver.nodes.items[orphan["metadata"]["name"]] = orphan
    await apiserver.scaler().reconcile_all()
    assert lost in apiserver.node_names()
    assert "vc-00000000-gone-p-0" not in apiserver.node_names()
    assert len(apiserver.node_names()) == 3


def _hash(owner: str) -> str:
    return owner_token(owner)


async def test_scrape_discovery_lists_each_virtual_node_in_its_class(apiserver: Apiserver) -> None:
    scaler = apiserver.scaler(fast_scrape_max_nodes=16, fast_scrape_max_pods=64)
    await scaler.create(create("ada", "small", pool("a", 2)))
    await scaler.create(create("ada", "big", pool("a", 8)))
    discovery = ScrapeDiscovery()

    async def get(path: str) -> tuple[int, Any]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path}
        await discovery(scope, None, send)  # type: ignore[arg-type]
        body = b"".join(m.get("body", b"") for m in sent)
        return sent[0]["status"], json.loads(body) if sent[0]["status"] == 200 else body

    assert (await get("/discovery/scrape/fast"))[0] == 503  # before the service is up
    discovery.clusters = scaler
    status, fast = await get("/discovery/scrape/fast")
    assert status == 200
    (group,) = fast
    assert sorted(group["targets"]) == sorted(n for n in apiserver.node_names() if "-small-" in n)
    _, standard = await get("/discovery/scrape/standard")
    assert len(standard[0]["targets"]) == 8
    assert not set(standard[0]["targets"]) & set(group["targets"])
    assert set(discovery.routes()) == {
        "/discovery/scrape/fast",
        "/discovery/scrape/standard",
        "/discovery/scrape/coarse",
    }
    _, coarse = await get("/discovery/scrape/coarse")
    assert coarse == []
