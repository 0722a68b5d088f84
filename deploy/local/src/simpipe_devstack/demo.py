"""`make demo`: dry-run the example pipeline through SIM-PIPE's GraphQL API
on the local stack, follow it live through a subscription, then print its
steps and measurements."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.graphql_client import GraphQLClient
from simpipe_devstack.layout import WEB_BUILD
from simpipe_devstack.runs import PrometheusApi, step_measurements
from simpipe_devstack.stack import Stack

DEMO_PROJECT = "SIM-PIPE demo"
DEMO_USER = "local-dev"
RUN_QUERY = """query($id: String!) { dryRun(dryRunId: $id) {
  id status { phase startedAt finishedAt }
  nodes { type displayName phase duration ... on DryRunNodePod { exitCode podName } } } }"""


async def _project(gql: GraphQLClient) -> str:
    projects = (await gql.execute("{ projects { id name } }"))["projects"]
    for project in projects:
        if project["name"] == DEMO_PROJECT:
            return str(project["id"])
    created = await gql.execute(
        "mutation($n: String!) { createProject(project: {name: $n}) { id } }", n=DEMO_PROJECT
    )
    return str(created["createProject"]["id"])


def _table(run: dict[str, Any], measured: dict[str, dict[str, float]]) -> list[str]:
    header = f"{'step':<12} {'phase':<10} {'duration':>8} {'exit':>4} {'cpu peak':>9} {'cpu time':>9} {'mem peak':>9}"
    lines = [header, "-" * len(header)]
    for node in run["nodes"]:
        if node["type"] != "Pod":
            continue
        m = measured.get(node.get("podName") or "", {})
        duration = f"{node['duration']}s" if node["duration"] is not None else "-"
        lines.append(
            f"{node['displayName']:<12} {node['phase']:<10} {duration:>8} {node.get('exitCode') or '-':>4} "
            f"{m.get('cpu_peak_cores', 0):>7.2f}c {m.get('cpu_seconds', 0):>8.1f}s "
            f"{m.get('memory_peak_mib', 0):>6.0f}MiB"
        )
    return lines


def example_document(stack: Stack) -> tuple[dict[str, Any], str]:
    """The example pipeline for this stack, and where it runs: for real
    when the real node is up, else simulated on KWOK nodes."""
    service = argo_service("http://unused")
    if stack.real_node:
        return real_pipeline(EXAMPLE_REAL_STEPS, service).to_dict(), "for real on the real node"
    return simulated_pipeline(EXAMPLE_STEPS, service).to_dict(), "simulated on KWOK nodes"


def example_placement(stack: Stack) -> str:
    """createDryRun's placement of example_document's pipeline."""
    return "REAL_NODES" if stack.real_node else "VIRTUAL_NODES"


async def _demo(stack: Stack) -> int:
    endpoints = json.loads(stack.layout.endpoints_file.read_text())
    gql = GraphQLClient(endpoints["graphql"], stack.secrets.api_tokens[DEMO_USER])
    try:
        project_id = await _project(gql)
        document, where = example_document(stack)
        started = time.monotonic()
        created = await gql.execute(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={
                "projectId": project_id,
                "argoWorkflow": document,
                "placement": example_placement(stack),
            },
        )
        run_id = created["createDryRun"]["id"]
        print(
            f"dry run {run_id} ({where}) created in project {project_id} as {DEMO_USER}; live updates:"
        )
        updates = """subscription($id: String!) { dryRunUpdates(dryRunId: $id) {
          kind phase displayName exitCode progress } }"""
        async for data in gql.subscribe(updates, id=run_id):
            u = data["dryRunUpdates"]
            what = u["displayName"] if u["kind"] == "step" else f"dry run ({u['progress'] or '-'})"
            print(f"  {time.monotonic() - started:6.1f}s  {what:<24} {u['phase']}")
        run = (await gql.execute(RUN_QUERY, id=run_id))["dryRun"]
    finally:
        await gql.close()
    # The last 1 s scrape of the final step.
    await asyncio.sleep(2)
    pods = [n["podName"] for n in run["nodes"] if n["type"] == "Pod" and n.get("podName")]
    measured = step_measurements(
        PrometheusApi(Prometheus().url(stack)), pods, int(time.monotonic() - started) + 5
    )
    print(f"\ndry run {run_id}: {run['status']['phase']}\n")
    print("\n".join(_table(run, measured)))
    token_file = f"{DEMO_USER}'s token in {stack.layout.secrets_file}"
    if (WEB_BUILD / "index.html").is_file():
        gui = endpoints["graphql"].removesuffix("graphql")
        print(f"\nthe run in the web GUI: {gui}runs/{run_id} (log in with {token_file})")
    print(
        f"\nnext: GraphiQL at {endpoints['graphql']} (header Authorization: Bearer <{token_file}>),"
        f" Prometheus at {Prometheus().url(stack)}, `make status`, `make logs`."
    )
    return 0 if run["status"]["phase"] == "Succeeded" else 1


def run_demo(stack: Stack) -> int:
    return asyncio.run(_demo(stack))
