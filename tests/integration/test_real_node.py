"""Dry runs that execute for real on the local stack's real node (kubelet,
containerd, runc or gVisor): commands run, their output is in the step
logs, files travel between steps through S3, cAdvisor's series reach
Prometheus under KWOK's names, failures and missing images are reported,
and a node restart leaves nothing stuck.

Skipped (with the reason) only where this machine cannot run containers.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.containerd import Containerd
from simpipe_devstack.components.kubelet import (
    GVISOR_RUNTIME_CLASS,
    REAL_NODE_KIND,
    REAL_NODE_NAME,
    Kubelet,
)
from simpipe_devstack.components.minio import s3_client
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    RealStep,
    argo_service,
    on_nodes,
    real_pipeline,
)
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
from simpipe_devstack.runs import (
    ArgoApi,
    FinishedRun,
    PrometheusApi,
    StepStatus,
    argo_token,
    pod_steps,
    pods_by_node_id,
)
from simpipe_devstack.stack import Stack

# What the example's steps print (deploy/local/.../example_pipeline.py).
EXPECTED_LOGS = {
    "pre-process": "pre-process: wrote 100000 records",
    "process": "process: sum 5000050000",
    "analyse": "analyse: the sum was 5000050000",
}


def run_real(
    endpoints: dict[str, str],
    steps: tuple[RealStep, ...],
    prefix: str,
    runtime_class: str | None = None,
    timeout: float = 240,
) -> dict[str, Any]:
    token = argo_token(endpoints)
    service = argo_service(endpoints["argo_server"], token)
    workflow = on_nodes(
        real_pipeline(steps, service, prefix, runtime_class=runtime_class), REAL_NODE_KIND
    ).create()
    return ArgoApi(endpoints["argo_server"], token).follow(
        str(workflow.metadata.name), timeout=timeout
    )


def step_log(endpoints: dict[str, str], workflow: str, pod: str) -> str:
    """The main container's log, through the Argo server's API."""
    response = httpx.get(
        f"{endpoints['argo_server']}/api/v1/workflows/{WORKFLOW_NAMESPACE}/{workflow}/log",
        params={"logOptions.container": "main", "podName": pod},
        headers={"Authorization": f"Bearer {argo_token(endpoints)}"},
        timeout=30,
    )
    response.raise_for_status()
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return "\n".join(line.get("result", {}).get("content", "") for line in lines)


def steps_by_name(workflow: dict[str, Any]) -> dict[str, StepStatus]:
    return {s.name: s for s in pod_steps(workflow)}


@pytest.fixture(scope="module")
def example_run(real_node: Stack, endpoints: dict[str, str]) -> FinishedRun:
    final = run_real(endpoints, EXAMPLE_REAL_STEPS, "real-example-")
    return FinishedRun.of(str(real_node.layout.kubeconfig), final)


@pytest.mark.timeout(300)
def test_each_step_runs_its_command_and_logs_its_output(
    real_node: Stack, endpoints: dict[str, str], example_run: FinishedRun
) -> None:
    workflow, pods = example_run.workflow, example_run.pods
    assert workflow["status"]["phase"] == "Succeeded", workflow["status"].get("message")
    name = workflow["metadata"]["name"]
    steps = steps_by_name(workflow)
    assert sorted(steps) == sorted(EXPECTED_LOGS)
    for step_name, expected in EXPECTED_LOGS.items():
        step = steps[step_name]
        assert step.phase == "Succeeded"
        assert step.exit_code == "0"
        assert expected in step_log(endpoints, name, pods[step.node_id])
    assert "analyse: held 256 MiB" in step_log(endpoints, name, pods[steps["analyse"].node_id])


@pytest.mark.timeout(120)
def test_output_files_travel_through_s3(
    real_node: Stack, endpoints: dict[str, str], example_run: FinishedRun
) -> None:
    s3 = s3_client(real_node)
    nodes = example_run.workflow["status"]["nodes"].values()
    saved = {
        (node["displayName"], artifact["name"]): artifact["s3"]["key"]
        for node in nodes
        if node.get("type") == "Pod"
        for artifact in (node.get("outputs") or {}).get("artifacts", [])
        if artifact["name"] != "main-logs"
    }
    # argoexec saved each step's output file; the next step read it (its
    # log shows the sum computed from the first step's file).
    assert set(saved) == {("pre-process", "records"), ("process", "sum")}
    for key in saved.values():
        head = s3.head_object(Bucket=ARTIFACT_BUCKET, Key=key)
        assert head["ContentLength"] > 0


@pytest.mark.timeout(120)
def test_prometheus_sees_the_real_cpu_and_memory_under_kwoks_names(
    real_node: Stack, endpoints: dict[str, str], example_run: FinishedRun
) -> None:
    pods = example_run.pods
    steps = steps_by_name(example_run.workflow)
    prometheus = PrometheusApi(endpoints["prometheus"])
    # The run has ended: the next scrape of the node holds its steps' last usage.
    prometheus.wait_for_scrapes("real-node-cadvisor", after=time.time())

    def selector(step: str) -> str:
        return (
            f'namespace="{WORKFLOW_NAMESPACE}",pod="{pods[steps[step].node_id]}",container="main"'
        )

    # `process` spins a core for 5 s.
    cpu = prometheus.query(
        f"max_over_time(rate(container_cpu_usage_seconds_total{{{selector('process')}}}[3s])[10m:1s])"
    )
    assert cpu, "no CPU series for the process step"
    assert float(cpu[0]["value"][1]) > 0.5
    # The same labels as KWOK's emulated series.
    assert cpu[0]["metric"]["image"] == STEP_IMAGE
    # `analyse` holds a 256 MiB string.
    memory = prometheus.query(
        f"max_over_time(container_memory_working_set_bytes{{{selector('analyse')}}}[10m])"
    )
    assert memory, "no memory series for the analyse step"
    assert float(memory[0]["value"][1]) > 250 * 2**20


@pytest.mark.timeout(300)
def test_step_exiting_3_fails_the_workflow_with_exit_code_3(
    real_node: Stack, endpoints: dict[str, str]
) -> None:
    steps = (
        RealStep("fetch", "echo fetched > /work/out/data.txt", output="data.txt"),
        RealStep("explode", "cat /work/in/data.txt; exit 3"),
        RealStep("never", "echo never"),
    )
    final = run_real(endpoints, steps, "real-fail-")
    assert final["status"]["phase"] == "Failed"
    by_name = steps_by_name(final)
    assert by_name["fetch"].phase == "Succeeded"
    assert by_name["explode"].phase == "Failed"
    assert by_name["explode"].exit_code == "3"
    assert "never" not in by_name


@pytest.mark.timeout(300)
def test_pipeline_runs_under_gvisor(real_node: Stack, endpoints: dict[str, str]) -> None:
    steps = (
        # gVisor's kernel announces itself in its (emulated) kernel log.
        RealStep(
            "write", "dmesg | head -1; echo sandboxed > /work/out/note.txt", output="note.txt"
        ),
        RealStep("read", "echo read: $(cat /work/in/note.txt)"),
    )
    final = run_real(endpoints, steps, "real-gvisor-", runtime_class=GVISOR_RUNTIME_CLASS)
    assert final["status"]["phase"] == "Succeeded", final["status"].get("message")
    name = final["metadata"]["name"]
    pods = pods_by_node_id(str(real_node.layout.kubeconfig), name)
    core = client.CoreV1Api(
        config.new_client_from_config(config_file=str(real_node.layout.kubeconfig))
    )
    for pod in pods.values():
        spec = core.read_namespaced_pod(pod, WORKFLOW_NAMESPACE).spec
        assert spec is not None
        assert spec.runtime_class_name == GVISOR_RUNTIME_CLASS
        assert spec.node_name == REAL_NODE_NAME
    by_name = steps_by_name(final)
    assert "gVisor" in step_log(endpoints, name, pods[by_name["write"].node_id])
    assert "read: sandboxed" in step_log(endpoints, name, pods[by_name["read"].node_id])


@pytest.mark.timeout(120)
def test_image_not_loaded_is_reported_on_the_step_at_once(
    real_node: Stack, endpoints: dict[str, str]
) -> None:
    steps = (RealStep("ghost", "echo unreachable", image="simpipe.local/not-loaded:1"),)
    token = argo_token(endpoints)
    service = argo_service(endpoints["argo_server"], token)
    name = str(
        on_nodes(real_pipeline(steps, service, "real-noimage-"), REAL_NODE_KIND)
        .create()
        .metadata.name
    )
    argo = ArgoApi(endpoints["argo_server"], token)
    deadline = time.monotonic() + 45
    message = ""
    while time.monotonic() < deadline and "ErrImageNeverPull" not in message:
        time.sleep(1)
        found = pod_steps(argo.workflow(name))
        message = found[0].message if found else ""
    try:
        assert "ErrImageNeverPull" in message
        assert "simpipe.local/not-loaded:1" in message
    finally:
        argo.http.put(f"/api/v1/workflows/{WORKFLOW_NAMESPACE}/{name}/terminate", json={})
    assert argo.follow(name, timeout=60)["status"]["phase"] == "Failed"


@pytest.mark.timeout(400)
def test_node_restart_leaves_it_ready_and_no_dry_run_stuck(
    real_node: Stack, endpoints: dict[str, str], restartable: list[Any]
) -> None:
    steps = (
        RealStep("before", "echo before > /work/out/mark.txt; sleep 12", output="mark.txt"),
        RealStep("after", "cat /work/in/mark.txt; echo after"),
    )
    token = argo_token(endpoints)
    service = argo_service(endpoints["argo_server"], token)
    name = str(
        on_nodes(real_pipeline(steps, service, "real-restart-"), REAL_NODE_KIND)
        .create()
        .metadata.name
    )
    argo = ArgoApi(endpoints["argo_server"], token)
    deadline = time.monotonic() + 60
    while not any(s.phase == "Running" for s in pod_steps(argo.workflow(name))):
        assert time.monotonic() < deadline, "the first step never started"
        time.sleep(0.5)
    kubelet, containerd = real_node.component(Kubelet.name), real_node.component(Containerd.name)
    restartable.extend([containerd, kubelet])
    assert kubelet.stop(real_node)
    assert containerd.stop(real_node)
    time.sleep(3)  # the outage itself: the node stays down this long, then comes back
    containerd.start(real_node)
    kubelet.start(real_node)  # waits until the node is Ready again
    final = argo.follow(name, timeout=240)
    phase = final["status"]["phase"]
    # Finished, or failed with a reason: never stuck.
    assert phase in ("Succeeded", "Failed", "Error")
    if phase != "Succeeded":
        assert final["status"].get("message") or any(s.message for s in pod_steps(final))
