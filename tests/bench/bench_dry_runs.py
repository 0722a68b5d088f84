"""Benchmarks of the dry-run path (`make bench`): figures printed next to the
raw component measured in the same run, never asserted against a clock.

- status propagation: a Workflow change written to the apiserver, seen by a
  raw Kubernetes watch vs. by a GraphQL subscription through the whole mesh
  (argo-watcher -> JetStream -> gateway -> websocket);
- createDryRun through the gateway vs. a direct hera submit to the Argo server
  of the same dry run (with the ownership labels the submitter stamps, so the
  argo-watcher reacts to both alike), each sent by requests from a worker
  thread over a kept connection, as hera sends it: only the path differs.
  The runs are created suspended, so the runs of earlier rounds do not load
  the 2 cores while later ones are measured;
- idle resident memory of each service.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_client import AsyncSimpipe
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.ownership import ANNOTATION_OWNER, ownership_labels
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.bench_stats import report, rss_mib
from simpipe_devstack.components.services import SERVICE_NAMES
from simpipe_devstack.example_pipeline import (
    SimulatedStep,
    argo_service,
    held_workflow,
    simulated_pipeline,
)
from simpipe_devstack.layout import SERVICES_NAMESPACE, SIMULATION_NAMESPACE
from simpipe_devstack.runs import argo_token, gateway_stream
from simpipe_devstack.stack import Stack

USER = "local-dev"
TOGGLES = 15
CREATES = 200
# Untimed rounds first: the first creates after a quiet spell (or the
# previous benchmark's clean-up) are slow on both paths.
CREATE_WARM_UP = 5


@pytest.mark.timeout(300)
async def test_status_propagation_vs_raw_watch(stack: Stack, dev: AsyncSimpipe) -> None:
    api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
    name = f"bench-prop-{uuid.uuid4().hex[:6]}"
    api.create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", held_workflow(name, USER)
    )
    # (when, spec.suspend) of every change the raw watch delivers
    raw_events: list[tuple[float, bool]] = []
    stop = threading.Event()
    listed = threading.Event()

    def raw_watch() -> None:
        w = watch.Watch()
        for event in w.stream(
            api.list_namespaced_custom_object, "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows",
            field_selector=f"metadata.name={name}", timeout_seconds=240,
        ):  # fmt: skip
            suspended = bool(event["object"].get("spec", {}).get("suspend"))
            raw_events.append((time.perf_counter(), suspended))
            listed.set()
            if stop.is_set():
                w.stop()

    try:
        # Wait until the run is Running as seen through the subscription.
        # The gateway's own stream: `dev.subscribe` passes each payload on
        # once, so it would swallow every Suspended and Running after the first.
        updates = gateway_stream(
            dev,
            "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }",
            id=name,
        )

        async def next_run_phase(wanted: str) -> float:
            async for data in updates:
                update = data["dryRunUpdates"]
                if update["kind"] == "run" and update["phase"] == wanted:
                    return time.perf_counter()
            raise AssertionError("subscription ended")

        await next_run_phase("Running")
        thread = threading.Thread(target=raw_watch, daemon=True)
        thread.start()
        # Changes count from after the watch's first event (its listing of the run).
        assert await asyncio.to_thread(listed.wait, 30), "the raw watch never listed the run"
        raw_latency: list[float] = []
        our_latency: list[float] = []
        for i in range(TOGGLES * 2):
            suspend = i % 2 == 0
            written = time.perf_counter()
            await asyncio.to_thread(
                api.patch_namespaced_custom_object, "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE,
                "workflows", name, {"spec": {"suspend": suspend}},
            )  # fmt: skip
            seen_by_us = await next_run_phase("Suspended" if suspend else "Running")
            raw_times = [t for t, s in raw_events if t >= written and s == suspend]
            while not raw_times:
                await asyncio.sleep(0.001)
                raw_times = [t for t, s in raw_events if t >= written and s == suspend]
            raw_latency.append(raw_times[0] - written)
            our_latency.append(seen_by_us - written)
            await asyncio.sleep(0.3)
        report(
            "status propagation (GraphQL subscription)", our_latency, raw_latency, "raw kube watch"
        )
    finally:
        stop.set()
        api.delete_namespaced_custom_object(
            "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", name
        )


@pytest.mark.timeout(300)
async def test_create_dry_run_through_the_gateway_vs_direct_hera_submit(
    stack: Stack, endpoints: dict[str, str], dev: AsyncSimpipe
) -> None:
    steps = (SimulatedStep("tiny", seconds=1, cpu_millicores=10, memory_mib=8),)
    ours: list[float] = []
    raw: list[float] = []
    created: list[str] = []
    # One client each, kept for the whole run, both requests-based: the
    # measured difference is the path, not the HTTP libraries (httpx alone
    # costs more per call than requests).
    hera_service = argo_service(
        endpoints["argo_server"], argo_token(endpoints), SIMULATION_NAMESPACE
    )
    session = requests.Session()
    session.headers.update(dev.headers or {})
    mutation = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"

    async def through_the_gateway() -> float:
        document = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
        document["spec"]["suspend"] = True
        body: dict[str, Any] = {
            "query": mutation,
            "variables": {"i": {"placement": "VIRTUAL_NODES", "argoWorkflow": document}},
        }
        start = time.perf_counter()
        answer = await asyncio.to_thread(session.post, dev.url, json=body)
        took = time.perf_counter() - start
        payload = answer.json()
        assert not payload.get("errors"), payload
        created.append(payload["data"]["createDryRun"]["id"])
        return took

    async def through_hera() -> float:
        workflow = simulated_pipeline(steps, hera_service, "bench-hera-")
        workflow.namespace = SIMULATION_NAMESPACE  # where the submitter puts ours
        # The same dry run as SIM-PIPE would make it: unlabelled, the
        # watcher would ignore it, and its work on each new run (CPU of the
        # same 2 cores) would weigh on our path alone.
        workflow.labels = ownership_labels(USER, "")
        workflow.annotations = {ANNOTATION_OWNER: USER}
        workflow.suspend = True
        start = time.perf_counter()
        submitted = await asyncio.to_thread(workflow.create)
        took = time.perf_counter() - start
        created.append(str(submitted.metadata.name))
        return took

    try:
        for round_ in range(CREATE_WARM_UP + CREATES):
            # Each path goes first in every other round: the second finds the
            # Argo server and the apiserver busy a moment earlier.
            if round_ % 2:
                took_raw, took_ours = await through_hera(), await through_the_gateway()
            else:
                took_ours, took_raw = await through_the_gateway(), await through_hera()
            if round_ >= CREATE_WARM_UP:
                ours.append(took_ours)
                raw.append(took_raw)
        report("createDryRun via gateway", ours, raw, "direct hera submit")
    finally:
        # Suspended, these runs would never end: a failed round must not
        # leave hundreds behind for the watcher and the collector.
        session.close()
        hera_service.session.close()
        api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
        for name in created:
            try:
                api.delete_namespaced_custom_object(
                    "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", name
                )
            except ApiException as error:
                if error.status != HTTPStatus.NOT_FOUND:  # gone already: the rest still go
                    raise


WARM_UP_ROUNDS = 3


async def warm_up(gql: AsyncSimpipe, endpoints: dict[str, str], mesh: ServiceSettings) -> None:
    """Real requests through every service first: idle memory is measured after
    use (clients built, caches filled, dependency checks run), not just after
    start."""
    steps = (SimulatedStep("tiny", seconds=1, cpu_millicores=10, memory_mib=8),)
    created: list[str] = []
    try:
        for _ in range(WARM_UP_ROUNDS):
            document = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
            result = await gql.graphql(
                "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
                i={"placement": "VIRTUAL_NODES", "argoWorkflow": document},
            )
            created.append(result["createDryRun"]["id"])
            await gql.graphql("{ projects { id } buckets { name } }")
        await asyncio.sleep(2)  # the watcher and the collector see the runs
        for name in created:
            await gql.graphql(
                "query($id: String!) { dryRun(dryRunId: $id) { id nodes { id } "
                "metricsSummary { run { __typename } } } }",
                id=name,
            )
        for name in SERVICE_NAMES:  # dependency checks: NATS, S3, Kubernetes, Argo, ...
            address = endpoints.get(f"{name}_grpc")
            if address is not None:
                async with mesh_channel(address, mesh) as channel:
                    stub = service_info_pb2_grpc.ServiceInfoStub(channel)
                    await stub.GetInfo(service_info_pb2.GetInfoRequest(), timeout=30)
    finally:
        for name in created:
            await gql.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=name)
    await asyncio.sleep(2)


def container_pids(container_id: str) -> list[int]:
    """The processes in a container's cgroup (named by its id)."""
    found = []
    for cgroup in Path("/proc").glob("[0-9]*/cgroup"):
        try:
            if container_id in cgroup.read_text():
                found.append(int(cgroup.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


def pods_memory(stack: Stack, target_mib: float) -> None:
    """MODE=cluster: each service pod's resident memory, measured as for
    the processes (VmRSS of the service's process, found by its container's
    cgroup), so the two modes compare; pods being replaced are left out."""
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(stack.layout.kubeconfig)))
    rates = []
    for pod in core.list_namespaced_pod(SERVICES_NAMESPACE).items:
        if not (pod.metadata and pod.status and pod.status.phase == "Running"):
            continue
        name = (pod.metadata.labels or {}).get("app.kubernetes.io/name", "")
        if name not in SERVICE_NAMES or pod.metadata.deletion_timestamp is not None:
            continue
        (status,) = pod.status.container_statuses or []
        pids = container_pids(str(status.container_id).rpartition("://")[2])
        assert pids, f"no process of {pod.metadata.name} found"
        mib = sum(rss_mib(pid) for pid in pids)
        rates.append(mib)
        verdict = "met" if mib < target_mib else "NOT met"
        print(
            f"[bench] idle RSS pod {name:<20} {mib:6.1f} MiB = {mib * 2**20 / 1e6:6.1f} MB"
            f" (target < 100 MB: {verdict}; {pod.metadata.name})"
        )
    print(f"[bench] idle RSS median (pods) {statistics.median(rates):.1f} MiB")


@pytest.mark.timeout(300)
async def test_idle_memory_of_each_service(
    stack: Stack, endpoints: dict[str, str], mesh: ServiceSettings, dev: AsyncSimpipe
) -> None:
    await warm_up(dev, endpoints, mesh)
    print()
    # The target is 100 MB (decimal): 95.4 MiB.
    target_mib = 100e6 / 2**20
    if endpoints.get("mode") == "cluster":
        pods_memory(stack, target_mib)
        return
    for name in SERVICE_NAMES:
        pid = stack.supervisor.pid(name)
        assert pid is not None, f"{name} is not running"
        mib = rss_mib(pid)
        verdict = "met" if mib < target_mib else "NOT met"
        print(
            f"[bench] idle RSS {name:<20} {mib:6.1f} MiB = {mib * 2**20 / 1e6:6.1f} MB"
            f" (target < 100 MB: {verdict})"
        )
    rates = [rss_mib(p) for p in (stack.supervisor.pid(n) for n in SERVICE_NAMES) if p]
    print(f"[bench] idle RSS median {statistics.median(rates):.1f} MiB")
