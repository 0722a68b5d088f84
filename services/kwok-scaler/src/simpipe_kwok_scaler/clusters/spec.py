"""What a virtual cluster is made of, checked: every outside value becomes
an InvalidInputError naming the field, before anything is written.

Names are short on purpose: a node's name is `vc-<owner[:8]>-<cluster>-<pool>-<i>`
and is also its `kubernetes.io/hostname` label, whose value holds 63
characters at most (ids of 24 and pools of 20 leave room for 5 digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kubernetes.utils.quantity import parse_quantity

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import InvalidInputError
from simpipe_common.validation import dns_label

if TYPE_CHECKING:
    # Only named here: config's module loads the simulations (a mixin of its
    # settings), which import the clusters back.
    from simpipe_kwok_scaler.config import VirtualClusterSettings

MAX_CLUSTER_ID_LENGTH = 24
MAX_POOL_NAME_LENGTH = 20
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Quantities: long enough for any sensible one, short enough to show in an error.
MAX_QUANTITY_LENGTH = 32
# Above these a node is no machine anyone sizes a pipeline for; the
# scheduler's sums of them must stay far from overflowing.
MAX_NODE_CPU = Decimal(4096)
MAX_NODE_MEMORY = Decimal(64 * 1024**4)  # 64 TiB

# Label and taint keys the scaler sets or Kubernetes reads with a meaning
# of its own: a pool may not claim them. Other kubernetes.io keys (zones,
# instance types) are the point of describing a pool and stay allowed.
RESERVED_PREFIXES = ("simpipe.io", "kwok.x-k8s.io")
RESERVED_LABELS = frozenset(
    {"type", "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch"}
)
# The node lifecycle's own taints (not-ready, unreachable, ...).
RESERVED_TAINT_PREFIXES = (*RESERVED_PREFIXES, "node.kubernetes.io")

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def document(self) -> dict[str, str]:
        taint = {"key": self.key, "effect": self.effect}
        if self.value:
            taint["value"] = self.value
        return taint


@dataclass(frozen=True)
class PoolSpec:
    name: str
    count: int
    cpu: str
    memory: str
    pods: int
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()

    def resized(self, count: int) -> PoolSpec:
        return PoolSpec(
            self.name, count, self.cpu, self.memory, self.pods, self.labels, self.taints
        )

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "cpu": self.cpu,
            "memory": self.memory,
            "pods": self.pods,
            "labels": dict(self.labels),
            "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in self.taints],
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> PoolSpec:
        return cls(
            name=str(data["name"]),
            count=int(data["count"]),
            cpu=str(data["cpu"]),
            memory=str(data["memory"]),
            pods=int(data["pods"]),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            taints=tuple(
                Taint(str(t["key"]), str(t.get("value", "")), str(t["effect"]))
                for t in data.get("taints") or ()
            ),
        )

    def message(self, ready: int = 0) -> pb.NodePool:
        return pb.NodePool(
            name=self.name,
            count=self.count,
            cpu=self.cpu,
            memory=self.memory,
            pods=self.pods,
            labels=dict(self.labels),
            taints=[pb.Taint(key=t.key, value=t.value, effect=t.effect) for t in self.taints],
            ready=ready,
        )


def cluster_id(value: str) -> str:
    return dns_label("virtual cluster id", value, MAX_CLUSTER_ID_LENGTH)


def pool_name(value: str) -> str:
    return dns_label("pool name", value, MAX_POOL_NAME_LENGTH)


def node_count(pool: str, count: int, settings: VirtualClusterSettings, least: int = 0) -> int:
    """A pool's node count. A new pool has at least one node (an empty one
    would be a placement nothing can land on); a resize may empty it."""
    if count < least or count > settings.max_pool_nodes:
        raise InvalidInputError(
            f"pool {pool}: count {count} is out of range: a pool has {least} to"
            f" {settings.max_pool_nodes} nodes"
            + (" when it is created (resize it to 0 to empty it)" if least else "")
        )
    return count


def quantity(pool: str, what: str, value: str, most: Decimal) -> str:
    """A Kubernetes quantity above zero and at most `most`, kept as written
    (the apiserver canonicalises it the same way for every node)."""
    shown = f"pool {pool}: {what} {value[:MAX_QUANTITY_LENGTH]!r}"
    if not value or len(value) > MAX_QUANTITY_LENGTH or value != value.strip():
        raise InvalidInputError(f"{shown} is not a Kubernetes quantity (e.g. '4', '16Gi')")
    try:
        amount = parse_quantity(value)
    except (ValueError, InvalidOperation):
        raise InvalidInputError(
            f"{shown} is not a Kubernetes quantity (e.g. '4', '16Gi')"
        ) from None
    if not amount.is_finite() or amount <= 0 or amount > most:
        raise InvalidInputError(f"{shown} is out of range: above 0, at most {most}")
    return value


def _reserved(key: str, prefixes: Iterable[str]) -> bool:
    prefix = key.rpartition("/")[0]
    return any(prefix == p or prefix.endswith("." + p) for p in prefixes)


def qualified_name(what: str, key: str) -> str:
    """A label or taint key: an optional DNS-subdomain prefix and '/', then a
    name of 1-63 letters, digits, '-', '_' and '.'."""
    prefix, slash, name = key.rpartition("/")
    if (
        not _NAME.fullmatch(name)
        or len(name) > 63
        or (slash and (len(prefix) > 253 or not _PREFIX.fullmatch(prefix)))
    ):
        raise InvalidInputError(
            f"{what} {key[:80]!r} is not a valid key: an optional DNS prefix and '/',"
            " then 1-63 letters, digits, '-', '_' or '.' starting and ending alphanumeric"
        )
    return key


def label_value(what: str, value: str) -> str:
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        raise InvalidInputError(
            f"{what} {value[:80]!r} is not valid: 0-63 letters, digits, '-', '_' or '.',"
            " starting and ending alphanumeric"
        )
    return value


def labels(pool: str, given: Mapping[str, str], settings: VirtualClusterSettings) -> dict[str, str]:
    if len(given) > settings.max_pool_labels:
        raise InvalidInputError(
            f"pool {pool}: {len(given)} labels; at most {settings.max_pool_labels}"
        )
    checked = {}
    for key, value in sorted(given.items()):
        qualified_name(f"pool {pool}: label", key)
        if key in RESERVED_LABELS or _reserved(key, RESERVED_PREFIXES):
            raise InvalidInputError(f"pool {pool}: label {key!r} is reserved to the scaler")
        checked[key] = label_value(f"pool {pool}: label {key}'s value", value)
    return checked


def taints(
    pool: str, given: Iterable[pb.Taint], settings: VirtualClusterSettings
) -> tuple[Taint, ...]:
    found = list(given)
    if len(found) > settings.max_pool_taints:
        raise InvalidInputError(
            f"pool {pool}: {len(found)} taints; at most {settings.max_pool_taints}"
        )
    checked: list[Taint] = []
    for taint in found:
        qualified_name(f"pool {pool}: taint", taint.key)
        if _reserved(taint.key, RESERVED_TAINT_PREFIXES):
            raise InvalidInputError(f"pool {pool}: taint {taint.key!r} is reserved")
        label_value(f"pool {pool}: taint {taint.key}'s value", taint.value)
        if taint.effect not in TAINT_EFFECTS:
            raise InvalidInputError(
                f"pool {pool}: taint {taint.key}'s effect {taint.effect[:40]!r} is not one of"
                f" {', '.join(TAINT_EFFECTS)}"
            )
        if any(t.key == taint.key and t.effect == taint.effect for t in checked):
            raise InvalidInputError(f"pool {pool}: taint {taint.key}:{taint.effect} is given twice")
        checked.append(Taint(taint.key, taint.value, taint.effect))
    return tuple(checked)


def pool(given: pb.NodePool, settings: VirtualClusterSettings) -> PoolSpec:
    name = pool_name(given.name)
    if given.pods < 1 or given.pods > settings.max_node_pods:
        raise InvalidInputError(
            f"pool {name}: pods {given.pods} is out of range: 1 to {settings.max_node_pods}"
            " per node"
        )
    return PoolSpec(
        name=name,
        count=node_count(name, given.count, settings, least=1),
        cpu=quantity(name, "cpu", given.cpu, MAX_NODE_CPU),
        memory=quantity(name, "memory", given.memory, MAX_NODE_MEMORY),
        pods=given.pods,
        labels=labels(name, given.labels, settings),
        taints=taints(name, given.taints, settings),
    )


def pools(given: Iterable[pb.NodePool], settings: VirtualClusterSettings) -> tuple[PoolSpec, ...]:
    found = list(given)
    if not found:
        raise InvalidInputError("a virtual cluster needs at least one pool")
    if len(found) > settings.max_pools:
        raise InvalidInputError(f"{len(found)} pools; a cluster has at most {settings.max_pools}")
    checked = tuple(pool(p, settings) for p in found)
    names = [p.name for p in checked]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInputError(f"pool names must be unique in a cluster: {', '.join(twice)}")
    return checked
