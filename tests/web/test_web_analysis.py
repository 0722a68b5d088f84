"""Comparing runs and fitting scaling laws in our web GUI (Debian's chromium
against the stack), on runs of a two-step pipeline on KWOK's virtual nodes
whose first step takes longer as the "input" grows: two runs ticked on the
project page and compared side by side (durations and their ratio as the
API reports them, a step's CPU and memory overlaid); three ticked and laws
fitted at the input sizes typed, with the R² and the predictions the API
gives for the same inputs, and each law drawn over its measured points."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui, js_number

CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
ENDED = "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"
STEPS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { type displayName duration } } }"""
LAWS = """query($ids: [String]!, $x: [Float]!) {
  computeScalingLawsFromNodesMetrics(dryRunIds: $ids, data_x: $x) {
    nodeName duration { r2 } cpu { r2 } mem { r2 } }
  predictScaling(dryRunIds: $ids, data_x: $x, data_x_to_predict: 4194304) {
    duration steps { nodeName duration } } }"""
SERIES = """query($id: String!) { dryRun(dryRunId: $id) { nodes { ... on DryRunNodePod {
  displayName metrics { seriesTable(metrics: ["cpuUsageSecondsTotal"]) } } } } }"""
MIB = 2**20


def pipeline(load_seconds: int) -> dict[str, Any]:
    steps = (
        SimulatedStep("load", seconds=load_seconds, cpu_millicores=200, memory_mib=16),
        SimulatedStep("report", seconds=2, cpu_millicores=100, memory_mib=8),
    )
    found: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return found


async def finished_runs(dev: AsyncSimpipe, project: str, seconds: list[int]) -> list[str]:
    """Runs of the pipeline with `load` taking each of `seconds`, started
    together, each followed over its subscription to its end."""
    ids = [
        (await dev.graphql(CREATE, i={
            "projectId": project, "placement": "VIRTUAL_NODES", "argoWorkflow": pipeline(s),
        }))["createDryRun"]["id"]
        for s in seconds
    ]  # fmt: skip

    async def ended(run_id: str) -> None:
        async for _ in dev.subscribe(ENDED, id=run_id):
            pass
        phase = (await dev.graphql(STEPS, id=run_id))["dryRun"]["status"]["phase"]
        assert phase == "Succeeded", (run_id, phase)

    async with asyncio.timeout(240):
        await asyncio.gather(*(ended(i) for i in ids))
    return ids


async def durations(dev: AsyncSimpipe, run_id: str) -> dict[str, float]:
    run = (await dev.graphql(STEPS, id=run_id))["dryRun"]
    return {n["displayName"]: n["duration"] for n in run["nodes"] if n["type"] == "Pod"}


async def cpu_samples(dev: AsyncSimpipe, run_id: str, step: str) -> int:
    run = (await dev.graphql(SERIES, id=run_id))["dryRun"]
    [node] = [n for n in run["nodes"] if n.get("displayName") == step]
    return len(node["metrics"]["seriesTable"]["cpuUsageSecondsTotal"]["timestamps"])


async def tick(page: Page, web: WebGui, project: str, runs: list[str]) -> None:
    await page.goto(f"{web.url}/projects/{project}")
    for run in runs:
        await page.get_by_label(f"Tick {run}").check()


@pytest.mark.timeout(420)
async def test_two_runs_compared_and_laws_fitted_to_three(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    runs = await finished_runs(dev, project, [3, 6, 9])
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)

    # Two ticked, in that order (A, then B): compared side by side.
    a, b = runs[1], runs[2]
    await tick(page, web, project, [a, b])
    await page.get_by_role("link", name="Compare the two").click()
    await expect(page).to_have_url(re.compile(r"/compare\?a=.+&b=.+$"))
    seconds_a, seconds_b = await durations(dev, a), await durations(dev, b)
    for step in ("load", "report"):
        row = page.locator(f'tr[data-step="{step}"]')
        await expect(row.locator('[data-side="a"]')).to_have_attribute(
            "data-seconds", js_number(seconds_a[step]), timeout=web.page_ms
        )
        await expect(row.locator('[data-side="b"]')).to_have_attribute(
            "data-seconds", js_number(seconds_b[step])
        )
        await expect(row.locator("[data-ratio]")).to_have_text(
            f"{seconds_b[step] / seconds_a[step]:.2f}x"
        )
    assert seconds_b["load"] > seconds_a["load"]
    # The first step both have is shown: each run's series overlaid from the
    # step's start, with as many points as the API has.
    cpu = page.locator('figure[data-plot="CPU (cores)"]')
    await expect(cpu).to_have_attribute("data-lines", "2", timeout=web.page_ms)
    for run in (a, b):
        counted = await cpu_samples(dev, run, "load")
        assert counted > 0, run
        await expect(cpu.locator(f'li[data-line="{run}"]')).to_have_attribute(
            "data-points", str(counted)
        )
    await page.get_by_role("button", name="report", exact=True).click()
    await expect(page.locator("h2", has_text="report: A and B")).to_be_visible()
    await web.shot(page, "compare-runs")
    await web.assert_accessible(page)

    # Three ticked: laws fitted at the sizes typed, as the API fits them.
    await tick(page, web, project, runs)
    await page.get_by_role("link", name="Scaling laws of 3 runs").click()
    await expect(page).to_have_url(re.compile(r"/scaling\?runs="))
    sizes = [1 * MIB, 2 * MIB, 3 * MIB]
    for run, size in zip(runs, ["1 MiB", "2 MiB", "3 MiB"], strict=True):
        await page.locator(f'input[data-run="{run}"]').fill(size)
    await page.get_by_role("button", name="Fit").click()
    api = await dev.graphql(LAWS, ids=runs, x=sizes)
    laws = {law["nodeName"]: law for law in api["computeScalingLawsFromNodesMetrics"]}
    assert set(laws) == {"load", "report"}
    assert laws["load"]["duration"]["r2"] > 0.9, laws["load"]
    for step, law in laws.items():
        for metric in ("duration", "cpu", "mem"):
            cell = page.locator(f'tr[data-step="{step}"] [data-metric="{metric}"]')
            await expect(cell).to_have_text(f"{law[metric]['r2']:.3f}", timeout=web.page_ms)
        # Each law drawn over its three measured points.
        plot = page.locator(f'figure[data-plot^="{step}: Duration"]')
        await expect(plot.locator('li[data-line="measured"]')).to_have_attribute("data-points", "3")

    await page.get_by_label("Predict at input size").fill("4 MiB")
    await page.get_by_role("button", name="Predict").click()
    predicted = api["predictScaling"]
    table = page.locator("[data-prediction]")
    await expect(table.locator("tr[data-total]")).to_have_attribute(
        "data-duration", js_number(predicted["duration"]), timeout=web.page_ms
    )
    for step in predicted["steps"]:
        await expect(table.locator(f'tr[data-step="{step["nodeName"]}"]')).to_have_attribute(
            "data-duration", js_number(step["duration"])
        )
    await web.shot(page, "scaling-laws")
    await web.assert_accessible(page)
    await page.get_by_role("button", name="Dark theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await page.set_viewport_size({"width": 390, "height": 844})
    await web.assert_fits(page, 390)
    await web.shot(page, "scaling-laws-phone-dark")
    await web.assert_accessible(page)

    # A size that is not one is refused on the page, before any request.
    await page.locator(f'input[data-run="{runs[0]}"]').fill("lots")
    await page.get_by_role("button", name="Fit").click()
    await expect(page.get_by_text(f"The input size of {runs[0]} is not a size")).to_be_visible()
