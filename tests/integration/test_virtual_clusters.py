"""Virtual clusters through the kwok-scaler's gRPC API (mutual TLS, the
tests' identity), on the real stack: their nodes are Nodes in the apiserver
that KWOK's controller makes Ready; each owner sees only their own; bad input
is a typed error that leaves nothing behind; and a dry run placed on a
cluster's pool runs there while one without the cluster never does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from kubernetes import client, watch

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe.v1 import kwok_scaler_pb2_grpc, workflow_submitter_pb2, workflow_submitter_pb2_grpc
from simpipe_common.errors import REASON_KEY
from simpipe_devstack.components.base import Component
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import SERVICES_NAMESPACE, SIMULATION_NAMESPACE
from simpipe_devstack.stack import Stack
from simpipe_events.contract import owner_token

sub = workflow_submitter_pb2
CLUSTER_LABEL = "simpipe.io/virtual-cluster"
POOL_LABEL = "simpipe.io/pool"
OWNER_LABEL = "simpipe.io/owner"
TIMEOUT = 60.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def owner() -> str:
    return unique("vc-tester")


@pytest.fixture
async def clusters(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub, owner: str
) -> AsyncIterator[list[str]]:
    """Ids of clusters a test made as `owner`: deleted after it."""
    made: list[str] = []
    yield made
    for cluster in made:
        await gone_or_deleted(
            scaler.DeleteVirtualCluster(
                pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
            )
        )


async def gone_or_deleted(call: Awaitable[Any]) -> None:
    """A clean-up delete: done now, or already gone (NOT_FOUND)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise


def pool(name: str, count: int, **given: Any) -> pb.NodePool:
    return pb.NodePool(
        name=name,
        count=count,
        cpu=given.pop("cpu", "4"),
        memory=given.pop("memory", "8Gi"),
        pods=given.pop("pods", 20),
        **given,
    )


def selector_of(owner: str, cluster: str) -> str:
    return f"{OWNER_LABEL}={owner_token(owner)},{CLUSTER_LABEL}={cluster}"


def nodes_listing(kube: client.ApiClient, selector: str) -> dict[str, Any]:
    """The apiserver's JSON answer (items as plain dicts)."""
    answer: Any = client.CoreV1Api(kube).list_node(label_selector=selector, _preload_content=False)
    listing: dict[str, Any] = json.loads(answer.data)
    return listing


def nodes_of(kube: client.ApiClient, owner: str, cluster: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = nodes_listing(kube, selector_of(owner, cluster))["items"]
    return items


def ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def by_pool(nodes: list[dict[str, Any]], only_ready: bool = False) -> dict[str, int]:
    counted: dict[str, int] = {}
    for node in nodes:
        if only_ready and not ready(node):
            continue
        name = node["metadata"]["labels"][POOL_LABEL]
        counted[name] = counted.get(name, 0) + 1
    return counted


async def until_nodes(
    kube: client.ApiClient,
    owner: str,
    cluster: str,
    done: Callable[[list[dict[str, Any]]], bool],
    seconds: float = TIMEOUT,
) -> list[dict[str, Any]]:
    """Watches the cluster's nodes (from a listing's resourceVersion) until
    `done` holds for them."""

    def wait() -> list[dict[str, Any]]:
        selector = selector_of(owner, cluster)
        listing = nodes_listing(kube, selector)
        nodes = {n["metadata"]["name"]: n for n in listing["items"]}
        if done(list(nodes.values())):
            return list(nodes.values())
        stream = watch.Watch()
        for event in stream.stream(
            client.CoreV1Api(kube).list_node,
            label_selector=selector,
            resource_version=listing["metadata"]["resourceVersion"],
            timeout_seconds=int(seconds),
        ):
            node = event["raw_object"]
            if event["type"] == "DELETED":
                nodes.pop(node["metadata"]["name"], None)
            else:
                nodes[node["metadata"]["name"]] = node
            if done(list(nodes.values())):
                stream.stop()
                return list(nodes.values())
        raise AssertionError(f"cluster {cluster}'s nodes did not get there in {seconds} s")

    return await asyncio.to_thread(wait)


def records_of(kube: client.ApiClient, owner: str) -> list[str]:
    answer: Any = client.CoreV1Api(kube).list_namespaced_config_map(
        SERVICES_NAMESPACE,
        label_selector=f"simpipe.io/record=virtual-cluster,simpipe.io/owner-hash={owner_token(owner)}",
        _preload_content=False,
    )
    return [c["metadata"]["name"] for c in json.loads(answer.data)["items"]]


async def test_create_resize_delete_with_nodes_ready_in_the_apiserver(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    kube: client.ApiClient,
    owner: str,
    clusters: list[str],
) -> None:
    cluster = unique("lab")
    clusters.append(cluster)
    created = await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(
            caller=owner,
            id=cluster,
            pools=[
                pool("small", 3, labels={"topology.kubernetes.io/zone": "a"}),
                pool(
                    "big",
                    2,
                    cpu="32",
                    memory="128Gi",
                    taints=[pb.Taint(key="example.com/big", value="yes", effect="NoSchedule")],
                ),
            ],
        ),
        timeout=TIMEOUT,
    )
    assert (created.id, created.owner) == (cluster, owner)
    assert [(p.name, p.count) for p in created.pools] == [("small", 3), ("big", 2)]
    nodes = await until_nodes(
        kube, owner, cluster, lambda n: by_pool(n, only_ready=True) == {"small": 3, "big": 2}
    )
    big = next(n for n in nodes if n["metadata"]["labels"][POOL_LABEL] == "big")
    assert big["status"]["allocatable"]["cpu"] == "32"
    assert big["status"]["allocatable"]["memory"] == "128Gi"
    assert {"key": CLUSTER_LABEL, "value": cluster, "effect": "NoSchedule"} in big["spec"]["taints"]
    assert {"key": "example.com/big", "value": "yes", "effect": "NoSchedule"} in big["spec"][
        "taints"
    ]
    small = next(n for n in nodes if n["metadata"]["labels"][POOL_LABEL] == "small")
    assert small["metadata"]["labels"]["topology.kubernetes.io/zone"] == "a"
    assert small["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    got = await scaler.GetVirtualCluster(
        pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
    )
    assert {p.name: p.ready for p in got.pools} == {"small": 3, "big": 2}
    assert got.created_at == created.created_at

    # Pools not named keep their nodes.
    resized = await scaler.ResizeVirtualCluster(
        pb.ResizeVirtualClusterRequest(caller=owner, id=cluster, counts={"small": 5}),
        timeout=TIMEOUT,
    )
    assert {p.name: p.count for p in resized.pools} == {"small": 5, "big": 2}
    await until_nodes(
        kube, owner, cluster, lambda n: by_pool(n, only_ready=True) == {"small": 5, "big": 2}
    )
    await scaler.ResizeVirtualCluster(
        pb.ResizeVirtualClusterRequest(caller=owner, id=cluster, counts={"small": 1, "big": 0}),
        timeout=TIMEOUT,
    )
    await until_nodes(kube, owner, cluster, lambda n: by_pool(n) == {"small": 1})
    listed = await scaler.ListVirtualClusters(
        pb.ListVirtualClustersRequest(caller=owner), timeout=TIMEOUT
    )
    assert [(c.id, [(p.name, p.count) for p in c.pools]) for c in listed.clusters] == [
        (cluster, [("small", 1), ("big", 0)])
    ]

    deleted = await scaler.DeleteVirtualCluster(
        pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
    )
    assert deleted.deleted
    assert nodes_of(kube, owner, cluster) == []
    assert records_of(kube, owner) == []
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await scaler.GetVirtualCluster(
            pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_another_owner_gets_not_found_and_sees_nothing(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    kube: client.ApiClient,
    owner: str,
    clusters: list[str],
) -> None:
    cluster = unique("mine")
    clusters.append(cluster)
    await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(caller=owner, id=cluster, pools=[pool("p", 1)]),
        timeout=TIMEOUT,
    )
    other = unique("someone-else")
    calls: list[Awaitable[Any]] = [
        scaler.GetVirtualCluster(pb.VirtualClusterRef(caller=other, id=cluster), timeout=TIMEOUT),
        scaler.ResizeVirtualCluster(
            pb.ResizeVirtualClusterRequest(caller=other, id=cluster, counts={"p": 3}),
            timeout=TIMEOUT,
        ),
        scaler.DeleteVirtualCluster(
            pb.VirtualClusterRef(caller=other, id=cluster), timeout=TIMEOUT
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await scaler.ListVirtualClusters(
        pb.ListVirtualClustersRequest(caller=other), timeout=TIMEOUT
    )
    assert list(listed.clusters) == []
    # The same id is the other owner's own to use, on nodes of their own.
    clash = await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(caller=other, id=cluster, pools=[pool("p", 1)]),
        timeout=TIMEOUT,
    )
    try:
        assert clash.owner == other
        assert len(nodes_of(kube, owner, cluster)) == 1
        assert len(nodes_of(kube, other, cluster)) == 1
    finally:
        await scaler.DeleteVirtualCluster(
            pb.VirtualClusterRef(caller=other, id=cluster), timeout=TIMEOUT
        )
    # The first owner's cluster is untouched.
    assert [n["metadata"]["name"] for n in nodes_of(kube, owner, cluster)]


@pytest.mark.timeout(180)
async def test_a_cluster_outlives_a_kill_of_the_scaler(
    stack: Stack,
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    kube: client.ApiClient,
    owner: str,
    clusters: list[str],
    crash: Callable[[Component], None],
) -> None:
    cluster = unique("durable")
    clusters.append(cluster)
    made = await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(
            caller=owner, id=cluster, pools=[pool("a", 2), pool("b", 1, cpu="8")]
        ),
        timeout=TIMEOUT,
    )
    # One node lost while the scaler is down: its record still asks for it.
    lost = sorted(n["metadata"]["name"] for n in nodes_of(kube, owner, cluster))[0]
    victim = stack.component("kwok-scaler")
    await asyncio.to_thread(crash, victim)
    await asyncio.to_thread(client.CoreV1Api(kube).delete_node, lost)
    await asyncio.to_thread(victim.start, stack)
    got = await scaler.GetVirtualCluster(
        pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
    )
    assert [(p.name, p.count, p.cpu) for p in got.pools] == [("a", 2, "4"), ("b", 1, "8")]
    assert got.created_at == made.created_at
    # Its start-up reconciliation made the lost node again.
    await until_nodes(
        kube, owner, cluster, lambda n: by_pool(n, only_ready=True) == {"a": 2, "b": 1}
    )


BAD_POOLS: list[tuple[str, list[pb.NodePool], str]] = [
    ("no pools", [], "at least one pool"),
    ("an empty pool", [pool("p", 0)], "count 0 is out of range"),
    ("negative count", [pool("p", -1)], "count -1 is out of range"),
    ("a billion nodes", [pool("p", 1_000_000_000)], "count 1000000000 is out of range"),
    ("bad pool name", [pool("Pool_1", 1)], "pool name"),
    ("duplicate pools", [pool("p", 1), pool("p", 2)], "unique"),
    ("cpu not a quantity", [pool("p", 1, cpu="lots")], "not a Kubernetes quantity"),
    ("zero cpu", [pool("p", 1, cpu="0")], "out of range"),
    ("negative memory", [pool("p", 1, memory="-8Gi")], "out of range"),
    ("huge memory", [pool("p", 1, memory="1Ei")], "out of range"),
    ("no pods", [pool("p", 1, pods=0)], "pods 0 is out of range"),
    ("reserved label", [pool("p", 1, labels={"simpipe.io/owner": "x"})], "reserved"),
    ("bad label", [pool("p", 1, labels={"a b": "c"})], "not a valid key"),
    (
        "bad taint effect",
        [pool("p", 1, taints=[pb.Taint(key="k", value="v", effect="Sometimes")])],
        "effect",
    ),
    (
        "reserved taint",
        [pool("p", 1, taints=[pb.Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")])],
        "reserved",
    ),
    # The second pool is bad: the first may not be made either.
    ("one bad pool of two", [pool("good", 2), pool("bad", 1, cpu="")], "not a Kubernetes quantity"),
]


@pytest.mark.parametrize(("case", "pools", "message"), BAD_POOLS, ids=[c[0] for c in BAD_POOLS])
async def test_bad_input_is_a_typed_error_and_leaves_nothing(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    kube: client.ApiClient,
    owner: str,
    case: str,
    pools: list[pb.NodePool],
    message: str,
) -> None:
    cluster = unique("bad")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await scaler.CreateVirtualCluster(
            pb.CreateVirtualClusterRequest(caller=owner, id=cluster, pools=pools),
            timeout=TIMEOUT,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, case
    assert message in (refused.value.details() or ""), refused.value.details()
    assert dict(refused.value.trailing_metadata() or ())[REASON_KEY] == "input-validation"
    assert nodes_of(kube, owner, cluster) == []
    assert records_of(kube, owner) == []


async def test_bad_ids_resizes_and_quota(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    kube: client.ApiClient,
    owner: str,
    clusters: list[str],
) -> None:
    for bad in ("Upper", "a" * 25, "-dash", "a.b"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await scaler.CreateVirtualCluster(
                pb.CreateVirtualClusterRequest(caller=owner, id=bad, pools=[pool("p", 1)]),
                timeout=TIMEOUT,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
    # More nodes than an owner may have: refused before any is made.
    with pytest.raises(grpc.aio.AioRpcError) as exhausted:
        await scaler.CreateVirtualCluster(
            pb.CreateVirtualClusterRequest(
                caller=owner, id=unique("huge"), pools=[pool("a", 5000), pool("b", 5000)]
            ),
            timeout=TIMEOUT,
        )
    assert exhausted.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert records_of(kube, owner) == []
    # An id made up when none is given.
    made = await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(caller=owner, pools=[pool("p", 1)]), timeout=TIMEOUT
    )
    clusters.append(made.id)
    assert made.id
    for counts, code in (
        ({"nope": 1}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"p": -1}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"p": 1_000_000_000}, grpc.StatusCode.INVALID_ARGUMENT),
        ({}, grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await scaler.ResizeVirtualCluster(
                pb.ResizeVirtualClusterRequest(caller=owner, id=made.id, counts=counts),
                timeout=TIMEOUT,
            )
        assert refused.value.code() == code, counts
    assert len(nodes_of(kube, owner, made.id)) == 1


STEPS = (
    SimulatedStep("prepare", seconds=1, cpu_millicores=100, memory_mib=32),
    SimulatedStep("crunch", seconds=1, cpu_millicores=200, memory_mib=64),
)


async def finished_workflow(kube: client.ApiClient, name: str) -> dict[str, Any]:
    """Watches the Workflow until Argo has ended it."""

    def wait() -> dict[str, Any]:
        custom = client.CustomObjectsApi(kube)
        stream = watch.Watch()
        for event in stream.stream(
            custom.list_namespaced_custom_object,
            "argoproj.io",
            "v1alpha1",
            SIMULATION_NAMESPACE,
            "workflows",
            field_selector=f"metadata.name={name}",
            timeout_seconds=90,
        ):
            workflow: dict[str, Any] = event["object"]
            if (workflow.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error"):
                stream.stop()
                return workflow
        raise AssertionError(f"dry run {name} did not end in 90 s")

    return await asyncio.to_thread(wait)


def hosts(workflow: dict[str, Any]) -> set[str]:
    return {
        n["hostNodeName"]
        for n in (workflow["status"].get("nodes") or {}).values()
        if n.get("type") == "Pod" and n.get("hostNodeName")
    }


@pytest.mark.timeout(240)
async def test_a_dry_run_on_a_pool_runs_there_and_one_without_the_cluster_never_does(
    scaler: kwok_scaler_pb2_grpc.KwokScalerAsyncStub,
    submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub,
    kube: client.ApiClient,
    owner: str,
    clusters: list[str],
) -> None:
    cluster = unique("runs")
    clusters.append(cluster)
    # Nodes far bigger than the shared ones: the scheduler would favour
    # them, were the cluster's taint not keeping other runs off.
    await scaler.CreateVirtualCluster(
        pb.CreateVirtualClusterRequest(
            caller=owner,
            id=cluster,
            pools=[
                pool("cpu", 4, cpu="256", memory="1Ti", pods=200),
                pool("other", 2, cpu="256", memory="1Ti", pods=200),
            ],
        ),
        timeout=TIMEOUT,
    )
    await until_nodes(kube, owner, cluster, lambda n: by_pool(n, only_ready=True) == {
        "cpu": 4, "other": 2
    })  # fmt: skip
    document = json.dumps(simulated_pipeline(STEPS, argo_service("http://unused")).to_dict())
    runs = {"placed": unique("on-pool"), "elsewhere": unique("off-cluster")}
    placements = {
        "placed": sub.Placement(nodes=sub.NODES_VIRTUAL, virtual_cluster=cluster, pool="cpu"),
        "elsewhere": sub.Placement(nodes=sub.NODES_VIRTUAL),
    }
    try:
        for key, run in runs.items():
            await submitter.CreateDryRun(
                sub.CreateDryRunRequest(
                    caller=owner, dry_run_id=run, document=document, placement=placements[key]
                ),
                timeout=TIMEOUT,
            )
        placed, elsewhere = [await finished_workflow(kube, runs[k]) for k in runs]
        assert placed["status"]["phase"] == elsewhere["status"]["phase"] == "Succeeded"
        ours = {n["metadata"]["name"]: n for n in nodes_of(kube, owner, cluster)}
        pool_nodes = {k for k, n in ours.items() if n["metadata"]["labels"][POOL_LABEL] == "cpu"}
        assert hosts(placed)
        assert hosts(placed) <= pool_nodes
        assert hosts(elsewhere)
        assert not hosts(elsewhere) & set(ours)
        # The cluster is in use while a run placed on it has not ended.
        blocker = unique("blocker")
        runs["blocker"] = blocker
        slow = simulated_pipeline(
            (SimulatedStep("wait", seconds=600, cpu_millicores=100, memory_mib=32),),
            argo_service("http://unused"),
        ).to_dict()
        await submitter.CreateDryRun(
            sub.CreateDryRunRequest(
                caller=owner,
                dry_run_id=blocker,
                document=json.dumps(slow),
                placement=placements["placed"],
            ),
            timeout=TIMEOUT,
        )
        with pytest.raises(grpc.aio.AioRpcError) as in_use:
            await scaler.DeleteVirtualCluster(
                pb.VirtualClusterRef(caller=owner, id=cluster), timeout=TIMEOUT
            )
        assert in_use.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert blocker in (in_use.value.details() or "")
        # Another owner may not place runs on it.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await submitter.CreateDryRun(
                sub.CreateDryRunRequest(
                    caller=unique("intruder"),
                    dry_run_id=unique("intrude"),
                    document=document,
                    placement=placements["placed"],
                ),
                timeout=TIMEOUT,
            )
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        for run in runs.values():
            await gone_or_deleted(
                submitter.DeleteDryRun(sub.DryRunRef(caller=owner, dry_run_id=run), timeout=TIMEOUT)
            )
