"""Benchmark of virtual clusters (`make bench`): 1,000 virtual nodes Ready
through the kwok-scaler's API (CreateVirtualCluster over mTLS gRPC, then
KWOK's controller plays them Ready) vs. KWOK's own way of making as many,
`kwokctl scale node` with the stack's kwokctl on the same apiserver, in the
same run, rounds alternating which goes first. Target ratio <= 1.0.

Both are timed from the request to the moment a watch of the apiserver
(started before) has seen every node Ready; each round's nodes are deleted
(and seen gone) before the next. kwokctl's nodes carry neither the
simpipe.io/node-kind label nor a taint: no dry run selects them meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client, config, watch
from urllib3.exceptions import ProtocolError

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe.v1 import kwok_scaler_pb2_grpc
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.bench_stats import report
from simpipe_devstack.layout import CLUSTER_NAME
from simpipe_devstack.stack import Stack
from simpipe_events.contract import owner_token

if TYPE_CHECKING:
    from simpipe.v1.kwok_scaler_pb2_grpc import KwokScalerAsyncStub

NODES = 1000
ROUNDS = 3
CALLER = "bench-virtual-nodes"
# kwokctl labels what it scales with the resource's name.
KWOKCTL_SELECTOR = "kwok.x-k8s.io/kwokctl-scale=node"
WAIT_SECONDS = 300


class ReadyWatch:
    """Watches the nodes of a label selector from a listing on, and notes
    when `count` of them are Ready (and when none is left)."""

    def __init__(self, api: client.ApiClient, selector: str, count: int) -> None:
        self.api, self.selector, self.count = api, selector, count
        self.ready_at: float | None = None
        self.gone_at: float | None = None
        self._ready: set[str] = set()
        self._present: set[str] = set()
        self._stream = watch.Watch()
        self._stopped = False
        self._listed = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        if not self._listed.wait(30):
            raise AssertionError("the node listing did not answer")
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped = True
        self._stream.stop()
        self._thread.join(5)

    def _note(self, node: dict[str, Any], deleted: bool) -> None:
        name = node["metadata"]["name"]
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        if deleted:
            self._present.discard(name)
            self._ready.discard(name)
        else:
            self._present.add(name)
            (self._ready.add if ready else self._ready.discard)(name)
        now = time.perf_counter()
        if self.ready_at is None and len(self._ready) >= self.count:
            self.ready_at = now
            self._done.set()
        if self.ready_at is not None and not self._present and self.gone_at is None:
            self.gone_at = now
            self._done.set()

    def _run(self) -> None:
        core = client.CoreV1Api(self.api)
        answer: Any = core.list_node(label_selector=self.selector, _preload_content=False)
        listing = json.loads(answer.data)
        for node in listing["items"]:
            self._note(node, deleted=False)
        self._listed.set()
        try:
            for event in self._stream.stream(
                core.list_node,
                label_selector=self.selector,
                resource_version=listing["metadata"]["resourceVersion"],
                timeout_seconds=WAIT_SECONDS,
                allow_watch_bookmarks=False,
            ):
                self._note(event["raw_object"], deleted=event["type"] == "DELETED")
        except ProtocolError:
            # stop() closes the response under the stream; anything else
            # leaves a milestone unseen, which until() reports.
            if not self._stopped:
                raise

    async def until(self, what: str) -> None:
        """Waits for the next milestone (all Ready, then none left)."""
        got = await asyncio.to_thread(self._done.wait, WAIT_SECONDS)
        self._done.clear()
        assert got, f"{what}: not seen within {WAIT_SECONDS} s"


@pytest.fixture
async def scaler(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[KwokScalerAsyncStub]:
    async with mesh_channel(endpoints["kwok-scaler_grpc"], mesh) as channel:
        stub: KwokScalerAsyncStub = kwok_scaler_pb2_grpc.KwokScalerStub(channel)
        yield stub
        # A round cut short (the scaler restarted under it) leaves its cluster.
        listed = await stub.ListVirtualClusters(
            pb.ListVirtualClustersRequest(caller=CALLER), timeout=30
        )
        for cluster in listed.clusters:
            await stub.DeleteVirtualCluster(
                pb.VirtualClusterRef(caller=CALLER, id=cluster.id), timeout=WAIT_SECONDS
            )


@pytest.fixture(scope="module")
def kube(stack: Stack) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(str(stack.layout.kubeconfig))
    return api


def kwokctl_scale(stack: Stack, replicas: int) -> None:
    bins = stack.layout.binaries
    env = {
        **os.environ,
        "KWOK_WORKDIR": str(stack.layout.kwok_workdir),
        # kwokctl looks for kubectl on PATH.
        "PATH": f"{bins['kubectl'].parent}:{os.environ.get('PATH', '')}",
    }
    subprocess.run(
        [str(bins["kwokctl"]), "--name", CLUSTER_NAME, "scale", "node", "--replicas", str(replicas)],
        env=env, capture_output=True, text=True, timeout=WAIT_SECONDS, check=True,
    )  # fmt: skip


async def ours(scaler: KwokScalerAsyncStub, kube: client.ApiClient) -> tuple[float, float, float]:
    """(seconds to all Ready, of which the create call, seconds to delete)."""
    cluster = f"bench-{uuid.uuid4().hex[:8]}"
    selector = f"simpipe.io/owner={owner_token(CALLER)},simpipe.io/virtual-cluster={cluster}"
    request = pb.CreateVirtualClusterRequest(
        caller=CALLER,
        id=cluster,
        pools=[pb.NodePool(name="p", count=NODES, cpu="32", memory="256Gi", pods=110)],
    )
    with ReadyWatch(kube, selector, NODES) as nodes:
        start = time.perf_counter()
        try:
            await scaler.CreateVirtualCluster(request, timeout=WAIT_SECONDS)
            called = time.perf_counter() - start
            await nodes.until("our nodes Ready")
        finally:
            deleting = time.perf_counter()
            await scaler.DeleteVirtualCluster(
                pb.VirtualClusterRef(caller=CALLER, id=cluster), timeout=WAIT_SECONDS
            )
        await nodes.until("our nodes gone")
        assert nodes.ready_at is not None
        assert nodes.gone_at is not None
        return nodes.ready_at - start, called, nodes.gone_at - deleting


async def kwoks(stack: Stack, kube: client.ApiClient) -> tuple[float, float, float]:
    with ReadyWatch(kube, KWOKCTL_SELECTOR, NODES) as nodes:
        start = time.perf_counter()
        try:
            await asyncio.to_thread(kwokctl_scale, stack, NODES)
            called = time.perf_counter() - start
            await nodes.until("kwokctl's nodes Ready")
        finally:
            deleting = time.perf_counter()
            await asyncio.to_thread(kwokctl_scale, stack, 0)
        await nodes.until("kwokctl's nodes gone")
        assert nodes.ready_at is not None
        assert nodes.gone_at is not None
        return nodes.ready_at - start, called, nodes.gone_at - deleting


@pytest.mark.timeout(1800)
async def test_a_thousand_virtual_nodes_ready_vs_kwokctl_scale(
    stack: Stack, scaler: KwokScalerAsyncStub, kube: client.ApiClient
) -> None:
    results: dict[str, list[tuple[float, float, float]]] = {"ours": [], "kwokctl": []}
    for round_ in range(ROUNDS):
        order = ("ours", "kwokctl") if round_ % 2 == 0 else ("kwokctl", "ours")
        for who in order:
            measured = await ours(scaler, kube) if who == "ours" else await kwoks(stack, kube)
            results[who].append(measured)
    mine, theirs = results["ours"], results["kwokctl"]
    report(
        f"{NODES} virtual nodes Ready (CreateVirtualCluster)",
        [r[0] for r in mine],
        [r[0] for r in theirs],
        "kwokctl scale node",
        decimals=0,
    )
    report(
        f"{NODES} nodes written (the create call / kwokctl's process)",
        [r[1] for r in mine],
        [r[1] for r in theirs],
        "kwokctl scale node",
        decimals=0,
    )
    report(
        f"{NODES} virtual nodes deleted (DeleteVirtualCluster)",
        [r[2] for r in mine],
        [r[2] for r in theirs],
        "kwokctl scale node --replicas 0",
        decimals=0,
    )
