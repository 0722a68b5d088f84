"""Argo's executor, emulated on virtual nodes by the kwok-scaler: simulated
steps' outputs (recorded values, defaults, artifacts) reach later steps,
`when` branches go the recorded way, and a daemon runs until its workflow
lets it go, its usage series ending at its run time.

Runs are created the way the kwok-scaler's simulations create them: the
workflow-submitter's CreateDryRun with VIRTUAL placement and simulated step
figures (the submitter writes them as the pods' simpipe.io/sim-* annotations).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from kubernetes import client, watch

from simpipe.v1 import kwok_scaler_pb2, workflow_submitter_pb2
from simpipe_client import AsyncSimpipe
from simpipe_devstack.layout import SIMULATION_NAMESPACE
from simpipe_devstack.runs import finished_dry_run

pb = workflow_submitter_pb2
DEV = "local-dev"
NAMESPACE = SIMULATION_NAMESPACE
NODES = """query($id: String!) { dryRun(dryRunId: $id) { status { phase message }
  nodes { displayName templateName phase message } } }"""
RUN_SECONDS = 90

OUTPUTS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: emulated-outputs-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: flip, template: flip}
      - {name: gen, template: gen}
    - - {name: heads, template: echo, when: "{{steps.flip.outputs.result}} == heads",
         arguments: {parameters: [{name: say, value: heads}]}}
      - {name: tails, template: echo, when: "{{steps.flip.outputs.result}} == tails",
         arguments: {parameters: [{name: say, value: tails}]}}
      - {name: use, template: use, arguments: {
           parameters: [{name: count, value: "{{steps.gen.outputs.parameters.count}}"},
                        {name: unit, value: "{{steps.gen.outputs.parameters.unit}}"}],
           artifacts: [{name: data, from: "{{steps.gen.outputs.artifacts.data}}"}]}}
    - - {name: many, template: echo, when: "{{steps.gen.outputs.parameters.count}} == 3",
         arguments: {parameters: [{name: say, value: many}]}}
  - name: flip
    script: {image: python:alpine3.6, command: [python], source: "print('heads')"}
  - name: gen
    container: {image: alpine:3.7, command: [sh, -c, "echo 9 > /tmp/count"]}
    outputs:
      parameters:
      - {name: count, valueFrom: {path: /tmp/count}}
      - {name: unit, valueFrom: {path: /tmp/unit, default: bytes}}
      artifacts:
      - {name: data, path: /tmp/data}
  - name: echo
    inputs: {parameters: [{name: say}]}
    container: {image: alpine:3.7, command: [echo, "{{inputs.parameters.say}}"]}
  - name: use
    inputs:
      parameters: [{name: count}, {name: unit}]
      artifacts: [{name: data, path: /tmp/data}]
    container: {image: alpine:3.7, command: [echo, "{{inputs.parameters.count}}"]}
"""

DAEMON = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: emulated-daemon-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: server, template: server}
    - - {name: client, template: client,
         arguments: {parameters: [{name: ip, value: "{{steps.server.ip}}"}]}}
  - name: server
    daemon: true
    container: {image: nginx:1.13, command: [nginx]}
  - name: client
    inputs: {parameters: [{name: ip}]}
    container: {image: alpine:3.7, command: [sh, -c, "wget {{inputs.parameters.ip}}"]}
"""


async def simulated_run(
    submitter: Any, project: str, document: str, *steps: kwok_scaler_pb2.StepFigures
) -> str:
    created = await submitter.CreateDryRun(
        pb.CreateDryRunRequest(
            caller=DEV,
            project_id=project,
            document=document,
            placement=pb.Placement(nodes=pb.NODES_VIRTUAL),
            simulated_steps=steps,
            simulation_id=f"emu-{uuid.uuid4().hex[:8]}",
        ),
        timeout=30,
    )
    run_id: str = created.dry_run_id
    return run_id


async def task_results(kube: client.ApiClient, prefix: str, seconds: float) -> list[dict[str, Any]]:
    """The WorkflowTaskResults written from now on for workflows named
    `prefix`..., until the first of them is deleted (its workflow completed)."""

    def collect() -> list[dict[str, Any]]:
        api = client.CustomObjectsApi(kube)
        args = ("argoproj.io", "v1alpha1", NAMESPACE, "workflowtaskresults")
        listed: Any = api.list_namespaced_custom_object(*args)
        version = listed["metadata"]["resourceVersion"]
        found: list[dict[str, Any]] = []
        for event in watch.Watch().stream(
            api.list_namespaced_custom_object, *args,
            resource_version=version, timeout_seconds=int(seconds),
        ):  # fmt: skip
            result = event["raw_object"]
            labels = result["metadata"].get("labels") or {}
            if not labels.get("workflows.argoproj.io/workflow", "").startswith(prefix):
                continue
            if event["type"] == "ADDED":
                found.append(result)
            elif event["type"] == "DELETED":
                return found
        return found

    return await asyncio.to_thread(collect)


def workflow(kube: client.ApiClient, name: str) -> dict[str, Any]:
    found: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", NAMESPACE, "workflows", name
    )
    return dict(found)


def phases(run: dict[str, Any]) -> dict[str, str]:
    return {n["displayName"]: n["phase"] for n in run["nodes"]}


@pytest.mark.timeout(RUN_SECONDS + 30)
async def test_recorded_outputs_defaults_and_artifacts_reach_later_steps(
    dev: AsyncSimpipe, project: str, submitter: Any, kube: client.ApiClient
) -> None:
    seen = asyncio.create_task(task_results(kube, "emulated-outputs-", RUN_SECONDS))
    run_id = await simulated_run(
        submitter,
        project,
        OUTPUTS,
        # The reference run said tails (the script prints heads: it never runs).
        kwok_scaler_pb2.StepFigures(step="flip", seconds=1, output_parameters={"result": "tails"}),
        kwok_scaler_pb2.StepFigures(step="gen", seconds=1, output_parameters={"count": "3"}),
    )
    run = await finished_dry_run(dev, NODES, run_id, RUN_SECONDS, interval=0.5)
    assert run["status"]["phase"] == "Succeeded", run
    steps = phases(run)
    assert steps["heads"] == "Skipped"
    assert steps["tails"] == "Succeeded"
    assert steps["use"] == "Succeeded"
    assert steps["many"] == "Succeeded"  # count was the recorded 3, not the file's 9

    # Argo deletes a workflow's task results when it completes; what they
    # said is in its nodes' outputs, and the watch saw who wrote them.
    results = await seen
    assert results
    assert {r["metadata"]["labels"].get("simpipe.io/emulated") for r in results} == {"true"}
    nodes = workflow(kube, run_id)["status"]["nodes"]
    outputs = {n["displayName"]: n.get("outputs") or {} for n in nodes.values()}
    assert {p["name"]: p["value"] for p in outputs["gen"]["parameters"]} == {
        "count": "3",
        "unit": "bytes",
    }
    (artifact,) = outputs["gen"]["artifacts"]
    # Under the run's archive location (the project's prefix), as argoexec names it.
    assert f"/{run_id}/{run_id}-gen-" in artifact["s3"]["key"]
    assert artifact["s3"]["key"].endswith("/data.tgz")
    assert outputs["flip"]["result"] == "tails"
    assert outputs["tails"]["exitCode"] == "0"


async def pod_ended(kube: client.ApiClient, name: str, seconds: float) -> dict[str, Any]:
    """The pod once its phase is Succeeded or Failed (a watch, bounded)."""

    def wait() -> dict[str, Any]:
        for event in watch.Watch().stream(
            client.CoreV1Api(kube).list_namespaced_pod, NAMESPACE,
            field_selector=f"metadata.name={name}", timeout_seconds=int(seconds),
        ):  # fmt: skip
            pod: dict[str, Any] = event["raw_object"]
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                return pod
        raise TimeoutError(f"pod {name} did not end within {seconds} s")

    return await asyncio.to_thread(wait)


async def prometheus_value(url: str, query: str) -> float | None:
    async with httpx.AsyncClient(timeout=10) as http:
        body = (await http.get(f"{url}/api/v1/query", params={"query": query})).json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.mark.timeout(RUN_SECONDS + 60)
async def test_a_virtual_daemon_runs_until_its_workflow_lets_it_go(
    dev: AsyncSimpipe,
    project: str,
    submitter: Any,
    kube: client.ApiClient,
    endpoints: dict[str, str],
) -> None:
    run_id = await simulated_run(
        submitter,
        project,
        DAEMON,
        # The daemon's own duration is ignored: it lives as long as Argo keeps it.
        kwok_scaler_pb2.StepFigures(step="server", seconds=1, cpu_cores=0.5),
        kwok_scaler_pb2.StepFigures(step="client", seconds=4),
    )
    run = await finished_dry_run(dev, NODES, run_id, RUN_SECONDS, interval=0.5)
    assert run["status"]["phase"] == "Succeeded", run
    assert phases(run)["server"] == "Succeeded"
    pods = client.CoreV1Api(kube).list_namespaced_pod(
        NAMESPACE, label_selector=f"workflows.argoproj.io/workflow={run_id}"
    )
    names = [str(p.metadata.name) for p in pods.items if p.metadata is not None]
    (server,) = [name for name in names if "-server-" in name]
    ended = await pod_ended(kube, server, 30)
    annotations = ended["metadata"]["annotations"]
    assert annotations["simpipe.io/sim-daemon"] == "true"
    assert annotations["simpipe.io/sim-stop"].startswith(("workflow", "node"))
    # It ran while the 4 s client ran (not its own 1 s), then stopped.
    statuses = {c["name"]: c["state"]["terminated"] for c in ended["status"]["containerStatuses"]}
    ran = _seconds(statuses["main"]["finishedAt"]) - _seconds(ended["status"]["startTime"])
    assert ran >= 4

    # The emulation wrote how long it ran (pod times have whole seconds)...
    written = float(annotations["simpipe.io/sim-ran"].removesuffix("s"))
    assert ran - 1 <= written <= ran + 1
    # ... and its cpu counter ends at cores x that time, after it stopped.
    query = (
        f'max_over_time(container_cpu_usage_seconds_total{{namespace="{NAMESPACE}",'
        f'pod="{server}",container="main"}}[5m])'
    )
    used = await _counter_end(endpoints["prometheus"], query, 0.5 * written * 0.99)
    assert used == pytest.approx(0.5 * written, rel=0.01)


async def _counter_end(url: str, query: str, at_least: float) -> float:
    """The counter's largest value once it reached `at_least` (the scrape
    after the pod ended brings its end value; Prometheus has no watch)."""
    async with asyncio.timeout(30):
        while True:
            value = await prometheus_value(url, query)
            if value is not None and value >= at_least:
                return value
            await asyncio.sleep(1)


def _seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
