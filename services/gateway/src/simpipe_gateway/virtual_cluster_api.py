"""GraphQL queries and mutations on virtual clusters: pools of KWOK nodes
(real Node objects in the apiserver) that the kwok-scaler makes, resizes and
deletes for the caller. What a pool may be (its name, sizes, the node limit)
is the scaler's to judge; the gateway bounds lists and refuses what can
never be right (negative numbers) before calling it."""

import enum

import strawberry

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import graphql_error, rpc
from simpipe_gateway.input_bounds import bounded_list
from simpipe_gateway.scalars import iso

# Labels and taints one pool may carry; pools of one cluster.
MAX_POOL_LABELS = 64
MAX_POOL_TAINTS = 64
MAX_POOLS = 64


def non_negative(value: float | None, what: str) -> None:
    if value is not None and value < 0:
        raise graphql_error(f"{what} must not be negative", "INPUT_VALIDATION_ERROR")


@strawberry.enum(description="What a taint does to pods that do not tolerate it.")
class TaintEffect(enum.Enum):
    NoSchedule = "NoSchedule"
    PreferNoSchedule = "PreferNoSchedule"
    NoExecute = "NoExecute"


@strawberry.type
class Label:
    key: str
    value: str


@strawberry.input
class LabelInput:
    key: str
    value: str


@strawberry.type
class Taint:
    key: str
    value: str
    effect: str


@strawberry.input
class TaintInput:
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NoSchedule


@strawberry.type(description="Identical KWOK nodes of a virtual cluster.")
class NodePool:
    name: str
    count: int = strawberry.field(description="Nodes the pool should have.")
    cpu: str = strawberry.field(description="Each node's allocatable CPU (a Kubernetes quantity).")
    memory: str = strawberry.field(description="Each node's allocatable memory (e.g. 16Gi).")
    pods: int = strawberry.field(description="Pods per node.")
    labels: list[Label]
    taints: list[Taint]
    ready: int = strawberry.field(description="Nodes of the pool that are Ready now.")


@strawberry.input(description="A pool of identical KWOK nodes.")
class NodePoolInput:
    name: str = strawberry.field(description="A DNS-1123 label, unique in its cluster.")
    count: int = strawberry.field(description="Nodes: 0 to the scaler's limit.")
    cpu: str = strawberry.field(description='Each node\'s allocatable CPU, e.g. "4" or "500m".')
    memory: str = strawberry.field(description='Each node\'s allocatable memory, e.g. "16Gi".')
    pods: int = strawberry.field(default=110, description="Pods per node.")
    labels: list[LabelInput] | None = strawberry.field(
        default=None, description="Extra node labels (simpipe.io/* is the scaler's)."
    )
    taints: list[TaintInput] | None = None


@strawberry.type(description="Pools of KWOK nodes of the caller's, to simulate pipelines on.")
class VirtualCluster:
    id: str
    pools: list[NodePool]
    created_at: str | None


@strawberry.input
class CreateVirtualClusterInput:
    pools: list[NodePoolInput]
    id: str | None = strawberry.field(
        default=None, description="A DNS-1123 label; made up when not given."
    )


@strawberry.input(description="A pool's new node count.")
class PoolCountInput:
    pool: str
    count: int


def to_virtual_cluster(message: pb.VirtualCluster) -> VirtualCluster:
    return VirtualCluster(
        id=message.id,
        pools=[
            NodePool(
                name=p.name,
                count=p.count,
                cpu=p.cpu,
                memory=p.memory,
                pods=p.pods,
                labels=[Label(key=k, value=v) for k, v in sorted(p.labels.items())],
                taints=[Taint(key=t.key, value=t.value, effect=t.effect) for t in p.taints],
                ready=p.ready,
            )
            for p in message.pools
        ],
        created_at=iso(message.created_at),
    )


def _pool(given: NodePoolInput) -> pb.NodePool:
    non_negative(given.count, f"pool {given.name!r}: count")
    non_negative(given.pods, f"pool {given.name!r}: pods")
    labels = bounded_list(given.labels, "labels", MAX_POOL_LABELS)
    taints = bounded_list(given.taints, "taints", MAX_POOL_TAINTS)
    return pb.NodePool(
        name=given.name,
        count=given.count,
        cpu=given.cpu,
        memory=given.memory,
        pods=given.pods,
        labels={label.key: label.value for label in labels},
        taints=[pb.Taint(key=t.key, value=t.value, effect=t.effect.value) for t in taints],
    )


@strawberry.type
class VirtualClusterQuery:
    @strawberry.field(description="The caller's virtual clusters.")  # type: ignore[untyped-decorator]
    async def virtual_clusters(self, info: GatewayInfo) -> list[VirtualCluster]:
        found = await rpc(
            gateway(info).scaler.ListVirtualClusters,
            pb.ListVirtualClustersRequest(caller=await caller(info)),
        )
        return [to_virtual_cluster(c) for c in found.clusters]

    @strawberry.field
    async def virtual_cluster(self, info: GatewayInfo, id: str) -> VirtualCluster:
        found = await rpc(
            gateway(info).scaler.GetVirtualCluster,
            pb.VirtualClusterRef(caller=await caller(info), id=id),
        )
        return to_virtual_cluster(found)


@strawberry.type
class VirtualClusterMutation:
    @strawberry.mutation(
        description="Makes the pools' KWOK nodes; answers once they exist (see pools' ready)."
    )  # type: ignore[untyped-decorator]
    async def create_virtual_cluster(
        self, info: GatewayInfo, input: CreateVirtualClusterInput
    ) -> VirtualCluster:
        pools = [_pool(p) for p in bounded_list(input.pools, "pools", MAX_POOLS)]
        found = await rpc(
            gateway(info).scaler.CreateVirtualCluster,
            pb.CreateVirtualClusterRequest(
                caller=await caller(info), id=input.id or "", pools=pools
            ),
        )
        return to_virtual_cluster(found)

    @strawberry.mutation(
        description="Sets the named pools' node counts (0 empties a pool; others keep theirs)."
    )  # type: ignore[untyped-decorator]
    async def resize_virtual_cluster(
        self, info: GatewayInfo, id: str, counts: list[PoolCountInput]
    ) -> VirtualCluster:
        given = bounded_list(counts, "counts", MAX_POOLS)
        for each in given:
            non_negative(each.count, f"pool {each.pool!r}: count")
        if len({each.pool for each in given}) != len(given):
            raise graphql_error("counts names a pool twice", "INPUT_VALIDATION_ERROR")
        found = await rpc(
            gateway(info).scaler.ResizeVirtualCluster,
            pb.ResizeVirtualClusterRequest(
                caller=await caller(info), id=id, counts={c.pool: c.count for c in given}
            ),
        )
        return to_virtual_cluster(found)

    @strawberry.mutation(description="Deletes the cluster and its nodes.")  # type: ignore[untyped-decorator]
    async def delete_virtual_cluster(self, info: GatewayInfo, id: str) -> bool:
        done = await rpc(
            gateway(info).scaler.DeleteVirtualCluster,
            pb.VirtualClusterRef(caller=await caller(info), id=id),
        )
        return done.deleted
