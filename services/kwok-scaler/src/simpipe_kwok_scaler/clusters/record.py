"""A virtual cluster's record: a ConfigMap in the scaler's namespace with
the pools as asked (counts included) and when it was made. It is the truth
the nodes are made to match, so a restarted scaler loses nothing: the
apiserver keeps it, like the nodes themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_MANAGED, LABEL_OWNER_HASH
from simpipe_kwok_scaler.clusters.nodes import CLUSTER_LABEL, owner_hash
from simpipe_kwok_scaler.clusters.spec import PoolSpec

# Which of the scaler's ConfigMaps are cluster records.
RECORD_LABEL: Final = "simpipe.io/record"
RECORD_KIND: Final = "virtual-cluster"
DATA_KEY: Final = "cluster.json"


def record_name(owner: str, cluster: str) -> str:
    # The whole owner hash: ids are unique per owner only.
    return f"vc-{owner_hash(owner)}-{cluster}"


def all_records_selector() -> str:
    return f"{RECORD_LABEL}={RECORD_KIND}"


def owner_records_selector(owner: str) -> str:
    return f"{all_records_selector()},{LABEL_OWNER_HASH}={owner_hash(owner)}"


@dataclass(frozen=True)
class ClusterRecord:
    id: str
    owner: str
    pools: tuple[PoolSpec, ...]
    created_at: datetime
    # The ConfigMap's, when read: a write over it fails if it changed since.
    resource_version: str = ""

    @property
    def nodes(self) -> int:
        return sum(p.count for p in self.pools)

    @property
    def pods(self) -> int:
        """How many pods all its nodes hold."""
        return sum(p.count * p.pods for p in self.pools)

    def pool(self, name: str) -> PoolSpec | None:
        return next((p for p in self.pools if p.name == name), None)

    def with_pools(self, pools: tuple[PoolSpec, ...]) -> ClusterRecord:
        return ClusterRecord(self.id, self.owner, pools, self.created_at, self.resource_version)

    def document(self, namespace: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "name": record_name(self.owner, self.id),
            "namespace": namespace,
            "labels": {
                LABEL_MANAGED: "true",
                RECORD_LABEL: RECORD_KIND,
                LABEL_OWNER_HASH: owner_hash(self.owner),
                CLUSTER_LABEL: self.id,
            },
            # Verbatim: owners may hold characters a label cannot.
            "annotations": {ANNOTATION_OWNER: self.owner},
        }
        if self.resource_version:
            metadata["resourceVersion"] = self.resource_version
        data = {
            "id": self.id,
            "owner": self.owner,
            "pools": [p.record() for p in self.pools],
            "created_at": self.created_at.isoformat(),
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": {DATA_KEY: json.dumps(data, sort_keys=True)},
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ClusterRecord:
        data = json.loads((document.get("data") or {})[DATA_KEY])
        return cls(
            id=str(data["id"]),
            owner=str(data["owner"]),
            pools=tuple(PoolSpec.from_record(p) for p in data["pools"]),
            created_at=datetime.fromisoformat(data["created_at"]).astimezone(UTC),
            resource_version=str((document.get("metadata") or {}).get("resourceVersion", "")),
        )

    def message(self, ready: dict[str, int]) -> pb.VirtualCluster:
        created = Timestamp()
        created.FromDatetime(self.created_at)
        return pb.VirtualCluster(
            id=self.id,
            owner=self.owner,
            pools=[p.message(ready.get(p.name, 0)) for p in self.pools],
            created_at=created,
        )
