"""`make up MODE=cluster`: the six services as pods of
deploy/kustomize/overlays/local on the real node, no service process on the
host, and a dry run end to end through the gateway pod: created, followed
live over the subscription, its steps measured and its report written by
the pods, with the stack's NATS, S3, Argo and Prometheus reached through
the pod gateway. `make test` runs this after the other suites, once it has
switched the stack to that mode; in process mode it is skipped.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.components.services import SERVICE_NAMES
from simpipe_devstack.demo import DEMO_USER, example_document, example_placement
from simpipe_devstack.layout import SERVICE_IPS, SERVICES_NAMESPACE
from simpipe_devstack.stack import Stack

REPORT = """query($id: String!) { dryRun(dryRunId: $id) {
  status { phase }
  nodes { type displayName phase ... on DryRunNodePod { podName } }
  report { phase summary { steps { displayName summary { durationSeconds cpuSeconds
    maxMemoryBytes } } } } } }"""


@pytest.fixture
def cluster_mode(stack: Stack, endpoints: dict[str, str]) -> Stack:
    if endpoints.get("mode") != "cluster":
        pytest.skip("the services run as processes here: `make up MODE=cluster` (make test does)")
    return stack


def pods_of_services(stack: Stack) -> list[dict[str, Any]]:
    listed = subprocess.run(
        [str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
         "get", "pods", "-n", SERVICES_NAMESPACE, "-l",
         f"app.kubernetes.io/name in ({','.join(SERVICE_NAMES)})", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    items: list[dict[str, Any]] = json.loads(listed)["items"]
    return items


def test_the_services_run_as_pods_and_not_as_processes(cluster_mode: Stack) -> None:
    running = {
        pod["metadata"]["labels"]["app.kubernetes.io/name"]
        for pod in pods_of_services(cluster_mode)
        if pod["status"].get("phase") == "Running"
        and pod["spec"]["nodeName"] == REAL_NODE_NAME
        and all(c.get("ready") for c in pod["status"].get("containerStatuses", []))
    }
    assert set(SERVICE_NAMES) <= running
    for service in SERVICE_NAMES:
        assert cluster_mode.supervisor.pid(service) is None, f"{service} runs as a process too"


@pytest.mark.timeout(600)
async def test_a_dry_run_end_to_end_through_the_gateway_pod(
    cluster_mode: Stack, endpoints: dict[str, str]
) -> None:
    assert endpoints["graphql"] == f"http://{SERVICE_IPS['gateway']}:8080/graphql"
    gql = AsyncSimpipe(endpoints["graphql"], cluster_mode.secrets.api_tokens[DEMO_USER])
    try:
        project = await gql.graphql(
            "mutation($n: String!) { createProject(project: {name: $n}) { id } }",
            n=f"cluster mode {time.time_ns()}",
        )
        document, _ = example_document(cluster_mode)
        created = await gql.graphql(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={
                "projectId": project["createProject"]["id"],
                "argoWorkflow": document,
                "placement": example_placement(cluster_mode),
            },
        )
        run_id = created["createDryRun"]["id"]
        updates = "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"
        phases = [u["dryRunUpdates"] async for u in gql.subscribe(updates, id=run_id)]
        assert phases, "no update"
        assert phases[-1] == {"kind": "run", "phase": "Succeeded"}, phases
        # The report comes from the collector pod once the run's series are in.
        deadline = time.monotonic() + 180
        while (run := (await gql.graphql(REPORT, id=run_id))["dryRun"])["report"] is None:
            assert time.monotonic() < deadline, "no report 180 s after the run ended"
            await asyncio.sleep(1)
    finally:
        await gql.aclose()
    steps = [n for n in run["nodes"] if n["type"] == "Pod"]
    assert steps, run
    assert all(n["phase"] == "Succeeded" for n in steps), steps
    reported = {s["displayName"]: s["summary"] for s in run["report"]["summary"]["steps"]}
    assert set(reported) == {n["displayName"] for n in steps}
    for name, summary in reported.items():
        assert summary["durationSeconds"] > 0, name
        assert summary["maxMemoryBytes"] > 0, name
