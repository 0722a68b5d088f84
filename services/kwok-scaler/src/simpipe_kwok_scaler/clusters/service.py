"""Virtual clusters, owner by owner: create, resize, delete, read.

The record (a ConfigMap) is written first and the nodes are then made to
match it, so whatever fails half-way (a crash, an apiserver that stops
answering) leaves a record the next resize, delete or start-up
reconciliation finishes from. Quota checks and record writes are
serialised in this process (one replica): two creates cannot both pass a
check that only one of them fits.

Deleting a cluster that unfinished runs are placed on is refused
(FAILED_PRECONDITION, naming them): its nodes would vanish under their
pods, which the pod garbage collector would then delete, and the runs
would fail for a reason that is not theirs. Cancel them (or wait for them
to end) first.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import (
    ConflictError,
    FailedPreconditionError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from simpipe_common.ownership import owner_selector
from simpipe_common.validation import caller
from simpipe_kwok_scaler.clusters import spec
from simpipe_kwok_scaler.clusters.kube import Kube, Nodes, NodeWriter, Records, Workflows
from simpipe_kwok_scaler.clusters.nodes import (
    CLUSTER_LABEL,
    NODE_KIND,
    NODE_KIND_LABEL,
    POOL_LABEL,
    cluster_selector,
    is_ready,
    node_document,
    node_name,
)
from simpipe_kwok_scaler.clusters.record import (
    ClusterRecord,
    all_records_selector,
    owner_records_selector,
    record_name,
)
from simpipe_kwok_scaler.clusters.scrape import scrape_class

if TYPE_CHECKING:
    # As in spec: config's module loads the simulations, which import this.
    from simpipe_kwok_scaler.config import VirtualClusterSettings

log = structlog.get_logger(__name__)


class QuotaExceededError(ServiceError):
    """More virtual nodes or clusters than an owner, or the stack, may have."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "quota-exceeded"


class VirtualClusters:
    def __init__(self, settings: VirtualClusterSettings, kube: Kube) -> None:
        self.settings = settings
        self.writer = NodeWriter(
            kube, settings.node_write_concurrency, settings.kube_timeout_seconds
        )
        self.nodes = Nodes(kube, self.writer)
        self.records = Records(kube, settings.scaler_namespace)
        self.workflows = Workflows(kube, settings.simulation_namespace)
        self._quota = asyncio.Lock()

    # RPCs
    async def create(self, request: pb.CreateVirtualClusterRequest) -> pb.VirtualCluster:
        owner = caller(request.caller)
        cluster = spec.cluster_id(request.id) if request.id else _made_up_id()
        pools = spec.pools(request.pools, self.settings)
        record = ClusterRecord(cluster, owner, pools, datetime.now(UTC))
        async with self._quota:
            others = await self._all_records()
            self._check_quota(owner, others, record, new=True)
            try:
                await self.records.create(record.document(self.settings.scaler_namespace))
            except ConflictError:
                raise ConflictError(f"virtual cluster {cluster} already exists") from None
        try:
            await self._reconcile(record)
        except ServiceError:
            # Nothing of a cluster that could not be made stays behind.
            await self._remove(record)
            raise
        log.info("virtual cluster created", cluster=cluster, nodes=record.nodes)
        return await self._message(record)

    async def resize(self, request: pb.ResizeVirtualClusterRequest) -> pb.VirtualCluster:
        owner = caller(request.caller)
        cluster = spec.cluster_id(request.id)
        if not request.counts:
            raise InvalidInputError("resize names no pool: counts is empty")
        async with self._quota:
            record = await self._record(owner, cluster)
            unknown = sorted(set(request.counts) - {p.name for p in record.pools})
            if unknown:
                raise InvalidInputError(
                    f"virtual cluster {cluster} has no pool {', '.join(n[:40] for n in unknown)}"
                )
            resized = record.with_pools(
                tuple(
                    p.resized(spec.node_count(p.name, request.counts[p.name], self.settings))
                    if p.name in request.counts
                    else p
                    for p in record.pools
                )
            )
            others = [r for r in await self._all_records() if not _same(r, record)]
            self._check_quota(owner, others, resized, new=False)
            try:
                await self.records.replace(resized.document(self.settings.scaler_namespace))
            except ConflictError:
                raise ConflictError(
                    f"virtual cluster {cluster} changed meanwhile; try again"
                ) from None
        await self._reconcile(resized)
        log.info("virtual cluster resized", cluster=cluster, nodes=resized.nodes)
        return await self._message(resized)

    async def delete(self, request: pb.VirtualClusterRef) -> pb.DeleteVirtualClusterResponse:
        owner = caller(request.caller)
        record = await self._record(owner, spec.cluster_id(request.id))
        users = await self._runs_on(record)
        if users:
            shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            raise FailedPreconditionError(
                f"virtual cluster {record.id} is in use by unfinished runs ({shown}): cancel"
                " them or let them end first",
                reason="virtual-cluster-in-use",
            )
        await self._remove(record)
        log.info("virtual cluster deleted", cluster=record.id)
        return pb.DeleteVirtualClusterResponse(deleted=True)

    async def get(self, request: pb.VirtualClusterRef) -> pb.VirtualCluster:
        owner = caller(request.caller)
        return await self._message(await self._record(owner, spec.cluster_id(request.id)))

    async def list_clusters(
        self, request: pb.ListVirtualClustersRequest
    ) -> pb.ListVirtualClustersResponse:
        owner = caller(request.caller)
        records = [
            r
            for r in map(_parsed, await self.records.matching(owner_records_selector(owner)))
            if r is not None and r.owner == owner
        ]
        ready = _ready_by_cluster_and_pool(await self.nodes.matching(cluster_selector(owner)))
        return pb.ListVirtualClustersResponse(
            clusters=[
                r.message({pool: n for (c, pool), n in ready.items() if c == r.id})
                for r in sorted(records, key=lambda r: (r.created_at, r.id))
            ]
        )

    async def scrape_targets(self, scrape: str) -> list[str]:
        """The names of every virtual node of the given scrape class, from
        the clusters' records (no Node is listed: this answers Prometheus'
        discovery every second)."""
        return sorted(
            node_name(r.owner, r.id, p.name, i)
            for r in await self._all_records()
            if scrape_class(r.nodes, r.pods, self.settings) == scrape
            for p in r.pools
            for i in range(p.count)
        )

    async def aclose(self) -> None:
        await self.writer.aclose()

    # Background
    async def reconcile_all(self) -> None:
        """Makes every cluster's nodes match its record, and removes
        virtual-cluster nodes no record claims (what a crash between a
        failed create and its clean-up can leave)."""
        records = await self._all_records()
        for record in records:
            try:
                await self._reconcile(record)
            except ServiceError as error:
                log.warning("virtual cluster not reconciled", cluster=record.id, error=str(error))
        claimed = {
            node_name(r.owner, r.id, p.name, i)
            for r in records
            for p in r.pools
            for i in range(p.count)
        }
        nodes = await self.nodes.matching(f"{NODE_KIND_LABEL}={NODE_KIND},{CLUSTER_LABEL}")
        orphans = [n["metadata"]["name"] for n in nodes if n["metadata"]["name"] not in claimed]
        if orphans:
            log.info("virtual nodes without a cluster removed", nodes=len(orphans))
            await _all(self.nodes.delete(name) for name in orphans)

    # Internals
    async def _all_records(self) -> list[ClusterRecord]:
        return [r for r in map(_parsed, await self.records.matching(all_records_selector())) if r]

    async def _record(self, owner: str, cluster: str) -> ClusterRecord:
        try:
            found = _parsed(await self.records.read(record_name(owner, cluster)))
        except NotFoundError:
            found = None
        # Another owner's cluster (or none) reads the same.
        if found is None or found.owner != owner or found.id != cluster:
            raise NotFoundError(f"virtual cluster {cluster} not found")
        return found

    def _check_quota(
        self, owner: str, others: list[ClusterRecord], record: ClusterRecord, new: bool
    ) -> None:
        mine = [r for r in others if r.owner == owner]
        if new and len(mine) >= self.settings.max_owner_clusters:
            raise QuotaExceededError(
                f"you have {len(mine)} virtual clusters, the most allowed: delete one first"
            )
        owner_nodes = sum(r.nodes for r in mine) + record.nodes
        if owner_nodes > self.settings.max_owner_nodes:
            raise QuotaExceededError(
                f"virtual cluster {record.id} would bring your virtual nodes to {owner_nodes};"
                f" you may have {self.settings.max_owner_nodes}"
            )
        total = sum(r.nodes for r in others) + record.nodes
        if total > self.settings.max_total_nodes:
            raise QuotaExceededError(
                f"virtual cluster {record.id} would bring the stack's virtual nodes to {total};"
                f" it holds {self.settings.max_total_nodes}"
            )

    async def _reconcile(self, record: ClusterRecord) -> None:
        """Creates the nodes the record has and the apiserver lacks, and
        deletes those it no longer has (pools shrunk or gone)."""
        existing = {
            n["metadata"]["name"] for n in await self.nodes.matching(
                cluster_selector(record.owner, record.id)
            )
        }  # fmt: skip
        wanted = {
            node_name(record.owner, record.id, p.name, i): (p, i)
            for p in record.pools
            for i in range(p.count)
        }
        creations = [
            self._create_node(record, pool, index)
            for name, (pool, index) in wanted.items()
            if name not in existing
        ]
        deletions = [self.nodes.delete(name) for name in existing - wanted.keys()]
        await _all([*creations, *deletions])

    async def _create_node(self, record: ClusterRecord, pool: spec.PoolSpec, index: int) -> None:
        document = node_document(record.owner, record.id, pool, index)
        try:
            await self.nodes.create(document)
        except ConflictError:
            # Made by an earlier try; or, with an owner whose hash starts
            # alike, someone else's node of the same name.
            raise ConflictError(
                f"node {document['metadata']['name']} exists already; pick another cluster id"
            ) from None

    async def _remove(self, record: ClusterRecord) -> None:
        """Its nodes, then its record (a failure before the end leaves the
        record, so the delete can be asked again)."""
        await self.nodes.delete_all(cluster_selector(record.owner, record.id))
        await self.records.delete(record_name(record.owner, record.id))

    async def _runs_on(self, record: ClusterRecord) -> list[str]:
        """Unfinished Workflows of the owner placed on this cluster (the
        workflow-submitter writes the cluster into their node selector)."""
        runs = await self.workflows.unfinished(owner_selector(record.owner))
        return sorted(
            str(w["metadata"]["name"])
            for w in runs
            if ((w.get("spec") or {}).get("nodeSelector") or {}).get(CLUSTER_LABEL) == record.id
            # One being deleted (its dry run was) uses nothing any more.
            and not w["metadata"].get("deletionTimestamp")
        )

    async def _message(self, record: ClusterRecord) -> pb.VirtualCluster:
        nodes = await self.nodes.matching(cluster_selector(record.owner, record.id))
        ready = _ready_by_cluster_and_pool(nodes)
        return record.message({pool: n for (_, pool), n in ready.items()})


def _made_up_id() -> str:
    return f"cluster-{secrets.token_hex(4)}"


def _same(a: ClusterRecord, b: ClusterRecord) -> bool:
    return (a.owner, a.id) == (b.owner, b.id)


def _parsed(document: dict[str, Any]) -> ClusterRecord | None:
    try:
        return ClusterRecord.from_document(document)
    except (KeyError, ValueError, TypeError) as error:
        name = (document.get("metadata") or {}).get("name")
        log.warning("virtual cluster record unreadable, ignored", record=name, error=str(error))
        return None


def _ready_by_cluster_and_pool(nodes: Iterable[dict[str, Any]]) -> Counter[tuple[str, str]]:
    counted: Counter[tuple[str, str]] = Counter()
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if is_ready(node):
            counted[(labels.get(CLUSTER_LABEL, ""), labels.get(POOL_LABEL, ""))] += 1
    return counted


async def _all(calls: Iterable[Awaitable[None]]) -> None:
    """Runs every call (the thread pool bounds how many at once), waits for
    all of them, then raises the first failure: what failed is known to
    have ended before anything is cleaned up."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
