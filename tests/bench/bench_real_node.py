"""`make bench`: figures for the real node, printed next to the same
measure on a KWOK node (or the pipeline's own work) taken in the same run.
Numbers, not assertions: they depend on the machine.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client, config, watch

from simpipe_devstack.bench_stats import percentile
from simpipe_devstack.cluster_policy import container_security_context, pod_security_context
from simpipe_devstack.components.cluster import KWOK_NODE_KIND, KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    argo_service,
    on_nodes,
    real_pipeline,
)
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
from simpipe_devstack.runs import ArgoApi, argo_token, pods_by_node_id
from simpipe_devstack.stack import Stack

PODS_PER_KIND = 15


def _pod(name: str, kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeSelector": {KWOK_NODE_LABEL: kind},
        "terminationGracePeriodSeconds": 0,
        # The workflows namespace admits only Pod Security `restricted` pods.
        "securityContext": pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "main",
                "image": STEP_IMAGE,
                "imagePullPolicy": "Never",
                "command": ["sleep", "3600"],
                "securityContext": container_security_context(),
            }
        ],
    }
    if kind == REAL_NODE_KIND:
        spec["tolerations"] = [{**REAL_NODE_TAINT, "operator": "Equal"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _start_latency(core: client.CoreV1Api, kind: str) -> float:
    """Seconds from the create call to the pod reported Running."""
    name = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    # The client takes a manifest as a dict as well as a V1Pod.
    created = core.create_namespaced_pod(WORKFLOW_NAMESPACE, _pod(name, kind))  # type: ignore[arg-type]
    assert created.metadata is not None
    try:
        for event in watch.Watch().stream(
            core.list_namespaced_pod,
            WORKFLOW_NAMESPACE,
            field_selector=f"metadata.name={name}",
            resource_version=created.metadata.resource_version,
            timeout_seconds=60,
        ):
            if event["object"].status.phase == "Running":
                return time.monotonic() - started
        raise TimeoutError(f"{name} not Running after 60 s")
    finally:
        core.delete_namespaced_pod(name, WORKFLOW_NAMESPACE, grace_period_seconds=0)


@pytest.fixture(scope="module")
def core(real_node: Stack) -> client.CoreV1Api:
    return client.CoreV1Api(
        config.new_client_from_config(config_file=str(real_node.layout.kubeconfig))
    )


@pytest.mark.timeout(600)
def test_pod_start_latency_real_node_vs_kwok(core: client.CoreV1Api) -> None:
    print(f"\npod start latency (create -> Running), {PODS_PER_KIND} pods one at a time:")
    print(f"  {'node':<10} {'p50':>8} {'p99':>8} {'mean':>8}")
    for kind in (REAL_NODE_KIND, KWOK_NODE_KIND):
        samples = [_start_latency(core, kind) for _ in range(PODS_PER_KIND)]
        print(
            f"  {kind:<10} {percentile(samples, 0.5) * 1000:>6.0f}ms "
            f"{percentile(samples, 0.99) * 1000:>6.0f}ms {statistics.mean(samples) * 1000:>6.0f}ms"
        )


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@pytest.mark.timeout(300)
def test_dry_run_wall_time_vs_its_steps_run_time(
    real_node: Stack, endpoints: dict[str, str], core: client.CoreV1Api
) -> None:
    token = argo_token(endpoints)
    service = argo_service(endpoints["argo_server"], token)
    submitted = time.monotonic()
    name = str(
        on_nodes(real_pipeline(EXAMPLE_REAL_STEPS, service, "bench-real-"), REAL_NODE_KIND)
        .create()
        .metadata.name
    )
    final = ArgoApi(endpoints["argo_server"], token).follow(name, timeout=240, interval=0.2)
    wall = time.monotonic() - submitted
    assert final["status"]["phase"] == "Succeeded"
    own = 0.0
    for pod in pods_by_node_id(str(real_node.layout.kubeconfig), name).values():
        status = core.read_namespaced_pod(pod, WORKFLOW_NAMESPACE).status
        for container in (status and status.container_statuses) or []:
            done = container.state.terminated if container.state else None
            if container.name == "main" and done and done.started_at and done.finished_at:
                own += (done.finished_at - done.started_at).total_seconds()
    status = final["status"]
    argo_wall = _seconds(status["startedAt"], status["finishedAt"])
    print(f"\nexample dry run on the real node ({len(EXAMPLE_REAL_STEPS)} steps, runc):")
    print(f"  submit -> finished (client)    {wall:6.1f}s")
    print(f"  workflow start -> finish       {argo_wall:6.1f}s")
    print(f"  sum of the steps' own run time {own:6.1f}s (main containers; 1 s resolution)")
    print(f"  orchestration overhead         {argo_wall - own:6.1f}s ({argo_wall / own:.2f}x)")
