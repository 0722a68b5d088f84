"""The Grafana dashboards (deploy/kustomize/base/dashboards) against the real
stack: during a real dry run on virtual nodes, every panel's PromQL, with
Grafana's template variables replaced by the run's namespace and step pod
and by the services' names, answers from the local Prometheus with series.
A query that errors, or that stays empty until the deadline, fails the test
with its dashboard and panel named; so does a variable that does not list
the run's namespace or pod."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from kubernetes import client

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.grafana_dashboards import panels, rendered, substituted
from simpipe_devstack.mesh_users import SERVICE_NAMES
from simpipe_devstack.runs import finished_dry_run

# Long enough that every query is answered while its pod runs: a finished
# pod's cAdvisor series go stale, and the dashboard shows the run as it goes.
STEP = SimulatedStep(
    "dashboards",
    seconds=60,
    cpu_millicores=500,
    memory_mib=64,
    fs_write_kib_per_s=128,
    network_receive_kib_per_s=256,
)
NODES = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { phase ... on DryRunNodePod { podName } } } }"""
# What Grafana puts for its own variables: a rate window of several scrapes
# (the services are scraped every 5 s, cAdvisor every second) and a range.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__range": "1h"}
LABEL_VALUES = re.compile(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.dashboard}: panel {self.panel!r} ({self.ref_id})"


def panel_queries(variables: dict[str, str]) -> list[PanelQuery]:
    found = []
    for name, text in rendered().items():
        for panel in panels(json.loads(text)):
            for target in panel["targets"]:
                expr = substituted(target["expr"], {**GRAFANA_VARIABLES, **variables})
                found.append(PanelQuery(name, panel["title"], target["refId"], expr))
    return found


async def prometheus_query(http: httpx.AsyncClient, query: PanelQuery) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/query", params={"query": query.expr})
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("status") != "success":
        pytest.fail(f"{query.name}: Prometheus refused {query.expr!r}: {body.get('error')}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def running_pod(dev: AsyncSimpipe, run_id: str, seconds: float) -> str:
    """The step's pod, once it runs."""
    async with asyncio.timeout(seconds):
        while True:
            run = (await dev.graphql(NODES, id=run_id))["dryRun"]
            for node in run["nodes"]:
                if node and node.get("podName") and node["phase"] == "Running":
                    return str(node["podName"])
            assert run["status"]["phase"] in ("Pending", "Running"), run
            await asyncio.sleep(0.5)


def namespace_of(kube: client.ApiClient, pod: str) -> str:
    found = client.CoreV1Api(kube).list_pod_for_all_namespaces(
        field_selector=f"metadata.name={pod}"
    )
    namespaces = {p.metadata.namespace for p in found.items if p.metadata}
    assert len(namespaces) == 1, (pod, namespaces)
    return str(namespaces.pop())


async def check_variables(
    http: httpx.AsyncClient, variables: dict[str, str], expected: dict[str, str]
) -> None:
    """Each query variable of the dashboards lists what the run needs (Grafana
    runs `label_values(selector, label)` as Prometheus' label values API)."""
    for name, text in rendered().items():
        for variable in json.loads(text)["templating"]["list"]:
            if variable["type"] != "query":
                continue
            parsed = LABEL_VALUES.fullmatch(variable["query"])
            assert parsed, f"{name}: variable {variable['name']}: {variable['query']!r}"
            params: dict[str, str] = {}
            if "{" in parsed["selector"] or parsed["selector"].isidentifier():
                params["match[]"] = substituted(parsed["selector"], variables)
            response = await http.get(f"/api/v1/label/{parsed['label']}/values", params=params)
            response.raise_for_status()
            values = set(response.json()["data"])
            want = expected[variable["name"]]
            assert want in values, f"{name}: variable {variable['name']} does not list {want!r}"


@pytest.mark.timeout(300)
async def test_every_panel_answers_during_a_dry_run(
    dev: AsyncSimpipe, endpoints: dict[str, str], kube: client.ApiClient
) -> None:
    run_id = f"dashboards-{uuid.uuid4().hex[:8]}"
    document = simulated_pipeline((STEP,), argo_service("http://unused")).to_dict()
    await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"dryRunId": run_id, "placement": "VIRTUAL_NODES", "argoWorkflow": document},
    )
    pod = await running_pod(dev, run_id, seconds=120)
    namespace = namespace_of(kube, pod)
    variables = {
        "namespace": namespace,
        # A regex in a PromQL string: its dots escaped, the backslash doubled.
        "pod": pod.replace(".", "\\\\."),
        "service": "|".join(SERVICE_NAMES),
    }
    queries = panel_queries(variables)
    answered: set[PanelQuery] = set()
    async with httpx.AsyncClient(base_url=endpoints["prometheus"], timeout=10.0) as http:
        # Until each query has answered with series, while the step runs
        # (its series are scraped every second; the services' every 5 s).
        deadline = time.monotonic() + STEP.seconds - 5
        while time.monotonic() < deadline and len(answered) < len(queries):
            for query in queries:
                if query not in answered and await prometheus_query(http, query):
                    answered.add(query)
            await asyncio.sleep(1)
        empty = [q.name for q in queries if q not in answered]
        assert not empty, "empty while the dry run ran:\n" + "\n".join(empty)
        await check_variables(
            http,
            {**variables, "pod": pod},
            {"namespace": namespace, "pod": pod, "service": "gateway"},
        )
    run = await finished_dry_run(dev, NODES, run_id, seconds=120)
    assert run["status"]["phase"] == "Succeeded", run
