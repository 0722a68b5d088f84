"""`make bench`: figures for the real node, printed next to the same
measure on a KWOK node taken in the same run (a dry run's wall time against
its steps' own: bench_time_to_result).
Numbers, not assertions: they depend on the machine.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import pytest
from kubernetes import client, config, watch

from simpipe_devstack.bench_stats import percentile
from simpipe_devstack.cluster_policy import container_security_context, pod_security_context
from simpipe_devstack.components.cluster import KWOK_NODE_KIND, KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
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
