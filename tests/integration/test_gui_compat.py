"""What the original SIM-PIPE GUI needs of the real stack: the gateway and S3
answer its origin's preflights (and nobody else's), and its pages' fields
answer with real values: a run's node, each step's energy."""

import itertools
import math

import httpx
import pytest

from simpipe_client import AsyncSimpipe
from simpipe_common.settings import EnergySettings
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.demo import example_document
from simpipe_devstack.example_pipeline import EXAMPLE_REAL_STEPS
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

OTHER_ORIGIN = "http://evil.example"


def gui_origin(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.layout.ports['gui']}"


def preflight(origin: str, method: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def test_the_gateway_answers_the_local_gui_origin_only(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    gui = gui_origin(stack)
    async with httpx.AsyncClient(timeout=10) as http:
        allowed = await http.options(endpoints["graphql"], headers=preflight(gui, "POST"))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == gui
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = await http.options(endpoints["graphql"], headers=preflight(OTHER_ORIGIN, "POST"))
        assert "access-control-allow-origin" not in refused.headers
        token = stack.secrets.api_tokens["local-dev"]
        answer = await http.post(
            endpoints["graphql"],
            json={"query": "{ username }"},
            headers={"Origin": gui, "Authorization": f"Bearer {token}"},
        )
        assert answer.json() == {"data": {"username": "local-dev"}}
        assert answer.headers["access-control-allow-origin"] == gui


async def test_a_presigned_upload_url_answers_the_local_gui_origin_only(
    stack: Stack, dev: AsyncSimpipe
) -> None:
    created = await dev.graphql("mutation { computeUploadPresignedUrl }")
    url = created["computeUploadPresignedUrl"]
    gui = gui_origin(stack)
    async with httpx.AsyncClient(timeout=10) as http:
        allowed = await http.options(url, headers=preflight(gui, "PUT"))
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == gui
        refused = await http.options(url, headers=preflight(OTHER_ORIGIN, "PUT"))
        assert "access-control-allow-origin" not in refused.headers
        # The page's PUT itself is readable to it: the object lands.
        put = await http.put(url, content=b"from a page", headers={"Origin": gui})
        assert put.status_code == 200
        assert put.headers["access-control-allow-origin"] == gui


# The shapes of the original GUI's dry-runs list and energy requests (its
# fields, our words).
RUN_LIST = """query($p: String!) { project(projectId: $p) { id dryRuns {
  id createdAt nodeName status { phase message }
  nodes { startedAt finishedAt duration type
    ... on DryRunNodePod { displayName phase outputArtifacts { key name url mooseReport } } } } } }"""
STEP_CPU = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { ... on DryRunNodePod { displayName
    metrics { cpuUsageSecondsTotal { timestamp value } } } } } }"""
CARBON = """query($s: [PrometheusSampleInput!]!) {
  fetchCarbontrackerData(input: {data: {dryRun: {node: {metrics: {cpuUsageSecondsTotal: $s}}}}}) {
    duration energy co2eq carbonIntensity } }"""


@pytest.mark.timeout(240)
async def test_the_gui_sees_a_real_runs_node_and_each_steps_energy(
    real_node: Stack, dev: AsyncSimpipe, project: str
) -> None:
    document, _ = example_document(real_node)
    created = await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"projectId": project, "argoWorkflow": document, "placement": "REAL_NODES"},
    )
    run_id = created["createDryRun"]["id"]
    final = await finished_dry_run(dev, STEP_CPU, run_id, 220)
    assert final["status"]["phase"] == "Succeeded"
    listed = (await dev.graphql(RUN_LIST, p=project))["project"]["dryRuns"]
    [run] = [r for r in listed if r["id"] == run_id]
    assert run["nodeName"] == REAL_NODE_NAME
    files = [a for n in run["nodes"] for a in n.get("outputArtifacts") or []]
    assert files
    assert all(a["mooseReport"] is None for a in files)

    model = EnergySettings().energy_model()
    steps = [n for n in final["nodes"] if n.get("metrics")]
    assert sorted(n["displayName"] for n in steps) == sorted(s.name for s in EXAMPLE_REAL_STEPS)
    for step in steps:
        series = step["metrics"]["cpuUsageSecondsTotal"]
        assert series, step["displayName"]
        values = [float(s["value"]) for s in series]
        used = sum(b - a if b >= a else b for a, b in itertools.pairwise(values))
        energy = (await dev.graphql(CARBON, s=series))["fetchCarbontrackerData"]
        assert energy["duration"] == series[-1]["timestamp"] - series[0]["timestamp"]
        assert math.isclose(energy["energy"], model.energy_kwh(used, 0.0))
        assert math.isclose(energy["co2eq"], model.carbon_g_co2(energy["energy"]))
        assert energy["carbonIntensity"] == model.grid_g_co2_per_kwh
