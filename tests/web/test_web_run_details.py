"""The run page's details in our web GUI, driven in Debian's chromium and
checked against what the API answers: a step's network and disk plots
(point for point) with their shared zoom, the run's and the step's usage
with the energy estimate, the run's report downloaded, a step's output file
downloaded and its log read after its pod is gone, and the run's actions
(stop, run again, delete with confirmation) with readable errors.
Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from kubernetes import client, config, watch
from playwright.async_api import Locator, Page, Route, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import (
    EXAMPLE_STEPS,
    OUTPUT_DIR,
    RealStep,
    SimulatedStep,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
PHASE = "query($id: String!) { dryRun(dryRunId: $id) { status { phase } } }"
ARCHIVED = "query($id: String!) { dryRun(dryRunId: $id) { archived } }"
# Every series a step's page plots, as seriesTable names them.
PLOTTED = (
    "cpuUsageSecondsTotal",
    "memoryWorkingSetBytes",
    "networkReceiveBytesTotal",
    "networkTransmitBytesTotal",
    "fsReadsBytesTotal",
    "fsWritesBytesTotal",
)
USAGE = """durationSeconds cpuSeconds maxCpuCores avgCpuCores maxMemoryBytes avgMemoryBytes
  networkReceiveBytes networkTransmitBytes fsReadBytes fsWriteBytes energyKwh carbonGCo2"""
USAGE_QUERY = f"""query($id: String!) {{ dryRun(dryRunId: $id) {{
  nodes {{ id displayName type }}
  metricsSummary {{ run {{ {USAGE} }} steps {{ nodeId displayName summary {{ {USAGE} }} }}
    energyModel {{ wattsPerCore wattsPerGbMemory gridGCo2PerKwh }} }}
  report {{ phase url parquetUrl }} }} }}"""
SERIES = """query($id: String!, $node: String!, $m: [String!]!) { dryRun(dryRunId: $id) {
  node(id: $node) { ... on DryRunNodePod { metrics { seriesTable(metrics: $m) } } } } }"""
FILES = """query($id: String!) { dryRun(dryRunId: $id) { status { phase message }
  nodes { id displayName ... on DryRunNodePod { outputArtifacts { name key size url } } } } }"""
LOG = """query($id: String!, $n: String!) { dryRun(dryRunId: $id) {
  node(id: $n) { ... on DryRunNodePod { log } } } }"""


async def series_lengths(dev: AsyncSimpipe, run_id: str, node_id: str) -> dict[str, int]:
    answer = await dev.graphql(SERIES, id=run_id, node=node_id, m=list(PLOTTED))
    table: dict[str, Any] = answer["dryRun"]["node"]["metrics"]["seriesTable"] or {}
    return {metric: len(table.get(metric, {}).get("timestamps", [])) for metric in PLOTTED}


def plot(page: Page, metric: str) -> Locator:
    return page.locator(f'figure[data-metric="{metric}"]')


async def shown_range(page: Page, metric: str) -> tuple[float, float]:
    figure = plot(page, metric)
    low = await figure.get_attribute("data-x-min")
    high = await figure.get_attribute("data-x-max")
    assert low, f"the {metric} plot shows no x range"
    assert high, f"the {metric} plot shows no x range"
    return float(low), float(high)


async def assert_usage_shown(where: Locator, usage: dict[str, float]) -> None:
    """Every number of a usage summary, shown as the API's (formatted)."""
    for field, value in usage.items():
        fact = where.locator(f'[data-usage="{field}"]')
        await expect(fact).to_have_count(1)
        shown = await fact.get_attribute("data-value")
        assert shown is not None, field
        assert float(shown) == pytest.approx(value, rel=1e-9, abs=1e-12), (field, shown, value)
        await expect(fact.locator("dd")).not_to_have_text("—")


async def open_step(page: Page, name: str) -> None:
    await page.locator(f'tbody tr[data-step="{name}"]').get_by_role("button").click()
    await expect(page.get_by_role("heading", name=f"Step {name}")).to_be_visible()


async def drag_across(page: Page, metric: str, start: float, end: float) -> None:
    """Drags across the plot's drawing area from `start` to `end` (fractions of its width)."""
    area = plot(page, metric).locator(".u-over")
    await area.scroll_into_view_if_needed()
    box = await area.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] * start, y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * end, y, steps=8)
    await page.mouse.up()


@pytest.mark.timeout(360)
async def test_a_simulated_runs_plots_zoom_usage_report_and_delete(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    document = simulated_pipeline(EXAMPLE_STEPS, argo_service("http://unused")).to_dict()
    created = await dev.graphql(
        CREATE, i={"projectId": project, "argoWorkflow": document, "placement": "VIRTUAL_NODES"}
    )
    run_id: str = created["createDryRun"]["id"]
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/runs/{run_id}")
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Succeeded", timeout=web.run_ms
    )
    # The report is written a little after the run ended: the page shows its
    # links once it is there, without a reload.
    await expect(page.locator('a[data-report="json"]')).to_be_visible(timeout=120_000)
    # Read again now that the collector has settled the run's numbers.
    await page.reload()
    await expect(page.locator('a[data-report="json"]')).to_be_visible(timeout=web.page_ms)

    api = (await dev.graphql(USAGE_QUERY, id=run_id))["dryRun"]
    summary = api["metricsSummary"]
    # The run's usage and energy, as the API's numbers.
    run_usage = page.locator("section[data-run-usage]")
    await assert_usage_shown(run_usage, summary["run"])
    assert summary["run"]["energyKwh"] > 0
    await expect(run_usage.locator('[data-usage="energyKwh"] dd')).to_have_text(
        re.compile(r"^\d+\.\d+ (mWh|Wh|kWh)$")
    )
    await expect(run_usage.locator('[data-usage="carbonGCo2"] dd')).to_have_text(
        re.compile(r"^\d+\.\d+ (mg|g|kg) CO₂e$")
    )
    model = summary["energyModel"]
    energy_model = run_usage.locator("[data-energy-model]")
    for number in (model["wattsPerCore"], model["wattsPerGbMemory"], model["gridGCo2PerKwh"]):
        await expect(energy_model).to_contain_text(f"{number:g}")
    # The report's downloads are the API's report, byte for byte.
    report = api["report"]
    await expect(run_usage.locator("[data-report-phase]")).to_have_attribute(
        "data-report-phase", report["phase"]
    )
    async with httpx.AsyncClient(timeout=30) as http:
        for kind, field in (("json", "url"), ("parquet", "parquetUrl")):
            href = await run_usage.locator(f'a[data-report="{kind}"]').get_attribute("href")
            assert href
            shown = await http.get(href)
            expected = await http.get(report[field])
            assert shown.status_code == expected.status_code == 200, (kind, shown.status_code)
            assert shown.content == expected.content, kind
            assert shown.content, kind
    assert (await http_json(report["url"]))["dryRunId"] == run_id

    # Each step's usage and plots, point for point with the API's series.
    pods = {n["displayName"]: n for n in api["nodes"] if n["type"] == "Pod"}
    step_usage = {s["displayName"]: s["summary"] for s in summary["steps"]}
    assert sorted(pods) == sorted(s.name for s in EXAMPLE_STEPS)
    for step in EXAMPLE_STEPS:
        await open_step(page, step.name)
        await assert_usage_shown(
            page.locator(f'[data-step-usage="{step.name}"]'), step_usage[step.name]
        )
        lengths = await series_lengths(dev, run_id, pods[step.name]["id"])
        for metric, count in lengths.items():
            await expect(plot(page, metric)).to_have_attribute(
                "data-points", str(count), timeout=web.page_ms
            )
        # KWOK emulates what each example step reads from the network and writes to disk.
        if step.network_receive_kib_per_s:
            assert lengths["networkReceiveBytesTotal"] > 2
        if step.fs_write_kib_per_s:
            assert lengths["fsWritesBytesTotal"] > 2

    # Zoom: dragging across the network plot narrows its time axis and the
    # step's other plots with it; the reset button shows all again.
    await open_step(page, "process")
    watched = "networkReceiveBytesTotal"
    await expect(plot(page, watched).locator("canvas")).to_be_visible()
    await expect(plot(page, watched)).not_to_have_attribute("data-x-min", "")
    zoomed = (watched, "fsWritesBytesTotal")
    whole = {metric: await shown_range(page, metric) for metric in zoomed}
    # As written on the page, to wait for exactly that again.
    whole_min = {m: await plot(page, m).get_attribute("data-x-min") or "" for m in zoomed}
    await web.shot(page, "20-run-details")
    await web.assert_accessible(page)
    await drag_across(page, watched, 0.25, 0.6)
    await expect(page.get_by_role("button", name="Reset zoom")).to_be_enabled()
    for metric, (low, high) in whole.items():
        await expect(plot(page, metric)).not_to_have_attribute("data-x-min", whole_min[metric])
        zoomed_low, zoomed_high = await shown_range(page, metric)
        assert low < zoomed_low < zoomed_high < high, (metric, whole, zoomed_low, zoomed_high)
    await web.shot(page, "21-run-details-zoomed")
    await page.get_by_role("button", name="Reset zoom").click()
    for metric, (low, high) in whole.items():
        await expect(plot(page, metric)).to_have_attribute("data-x-min", whole_min[metric])
        assert await shown_range(page, metric) == (low, high)
    await expect(page.get_by_role("button", name="Reset zoom")).to_be_disabled()
    # A double-click resets it too.
    await drag_across(page, watched, 0.3, 0.7)
    await expect(page.get_by_role("button", name="Reset zoom")).to_be_enabled()
    await plot(page, watched).locator(".u-over").dblclick()
    await expect(plot(page, watched)).to_have_attribute("data-x-min", whole_min[watched])
    await expect(page.get_by_role("button", name="Reset zoom")).to_be_disabled()

    # Dark theme and a phone's width, once.
    await page.get_by_role("button", name="Dark theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await web.shot(page, "22-run-details-dark")
    await web.assert_accessible(page)
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(plot(page, watched).locator("canvas")).to_be_visible()
    await web.shot(page, "23-run-details-phone")
    await web.assert_accessible(page)
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Delete asks first; Cancel keeps the run.
    await page.get_by_role("button", name="Delete…").click()
    confirm = page.get_by_role("alertdialog")
    await expect(confirm).to_contain_text(f"Delete run {run_id}")
    await web.assert_accessible(page)
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    assert (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"] == "Succeeded"
    await page.get_by_role("button", name="Delete…").click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Delete the run").click()
    await expect(page).to_have_url(f"{web.url}/projects/{project}", timeout=web.page_ms)
    # The live workflow is gone; Argo's archive keeps its record, as the API says.
    assert (await dev.graphql(ARCHIVED, id=run_id))["dryRun"]["archived"] is True
    await page.goto(f"{web.url}/runs/{run_id}")
    await expect(page.locator("[data-run-archived]")).to_have_attribute(
        "data-run-archived", "true", timeout=web.page_ms
    )
    await expect(page.get_by_role("button", name="Delete…")).to_be_hidden()


async def http_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(url)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found


NOTE = "hello from the run page\n"
WRITER = RealStep(
    "write",
    f"printf '{NOTE.strip()}\\n' > {OUTPUT_DIR}/note.txt; echo write: wrote the note",
    output="note.txt",
)


def delete_pods(stack: Stack, run_id: str) -> None:
    """Deletes the run's pods and watches until the last is gone."""
    core = client.CoreV1Api(config.new_client_from_config(str(stack.layout.kubeconfig)))
    selector = f"workflows.argoproj.io/workflow={run_id}"
    core.delete_collection_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector)
    listed: Any = core.list_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector)
    left: set[str] = {pod.metadata.name for pod in listed.items}
    if not left:
        return
    for event in watch.Watch().stream(
        core.list_namespaced_pod, WORKFLOW_NAMESPACE, label_selector=selector,
        resource_version=listed.metadata.resource_version, timeout_seconds=60,
    ):  # fmt: skip
        if event["type"] == "DELETED":
            left.discard(event["raw_object"]["metadata"]["name"])
            if not left:
                return
    raise AssertionError(f"the run's pods outlived their deletion: {sorted(left)}")


@pytest.mark.timeout(360)
async def test_a_real_steps_output_downloads_and_its_log_outlives_its_pod(
    page: Page, web: WebGui, real_node: Stack, dev: AsyncSimpipe, project: str
) -> None:
    document: dict[str, Any] = real_pipeline((WRITER,), argo_service("http://unused")).to_dict()
    # Stored as written (not as a tarball): its download is the text itself.
    writer = next(t for t in document["spec"]["templates"] if t["name"] == WRITER.name)
    writer["outputs"]["artifacts"][0]["archive"] = {"none": {}}
    run_id = f"web-files-{uuid.uuid4().hex[:8]}"
    await dev.graphql(
        CREATE,
        i={
            "projectId": project,
            "dryRunId": run_id,
            "argoWorkflow": document,
            "placement": "REAL_NODES",
        },
    )
    run = await finished_dry_run(dev, FILES, run_id, web.run_ms / 1000)
    assert run["status"]["phase"] == "Succeeded", run["status"]["message"]
    step = next(n for n in run["nodes"] if n["displayName"] == WRITER.name)
    outputs = {a["name"]: a for a in step["outputArtifacts"]}
    assert set(outputs) == {"note", "main-logs"}

    await web.sign_in(page, real_node.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/runs/{run_id}")
    await open_step(page, WRITER.name)
    await expect(page.locator(f'[data-step-usage="{WRITER.name}"]')).to_be_visible(
        timeout=web.page_ms
    )
    written = page.locator('table[data-files="outputs"]')
    await expect(written.locator("tr[data-file]")).to_have_count(len(outputs), timeout=web.page_ms)
    async with httpx.AsyncClient(timeout=30) as http:
        for name, artifact in outputs.items():
            row = written.locator(f'tr[data-file="{name}"]')
            await expect(row.locator("td[data-size]")).to_have_attribute(
                "data-size", f"{artifact['size']:g}"
            )
            href = await row.get_by_role("link", name=re.compile("Download")).get_attribute("href")
            assert href
            shown = await http.get(href)
            expected = await http.get(artifact["url"])
            assert shown.status_code == expected.status_code == 200
            assert shown.content == expected.content, name
            if name == "note":
                assert shown.content == NOTE.encode()
    # The link downloads in the browser too (a presigned S3 URL, no token in it).
    link = written.locator('tr[data-file="note"]').get_by_role("link")
    assert "token" not in (await link.get_attribute("href") or "").lower()
    await expect(page.locator(f'pre[data-step-log="{WRITER.name}"]')).to_contain_text(
        "write: wrote the note", timeout=web.page_ms
    )
    await web.shot(page, "24-run-details-files")
    await web.assert_accessible(page)

    # Once the pod is gone the log is read from the archive, as the API answers it.
    await asyncio.to_thread(delete_pods, real_node, run_id)
    archived = (await dev.graphql(LOG, id=run_id, n=step["id"]))["dryRun"]["node"]
    assert any("write: wrote the note" in line for line in archived["log"])
    await page.reload()
    await open_step(page, WRITER.name)
    log = page.locator(f'pre[data-step-log="{WRITER.name}"]')
    await expect(log).to_have_text("\n".join(archived["log"]), timeout=web.page_ms)
    await web.shot(page, "25-run-details-archived-log")


@pytest.mark.timeout(300)
async def test_a_run_is_stopped_run_again_and_a_failed_action_is_said(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    long_step = (SimulatedStep("hold", seconds=300, cpu_millicores=100, memory_mib=16),)
    document = simulated_pipeline(long_step, argo_service("http://unused")).to_dict()
    created = await dev.graphql(
        CREATE, i={"projectId": project, "argoWorkflow": document, "placement": "VIRTUAL_NODES"}
    )
    run_id: str = created["createDryRun"]["id"]
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/runs/{run_id}")
    phase = page.locator("[data-run-phase]")
    await expect(phase).to_have_attribute("data-run-phase", "Running", timeout=web.run_ms)
    await expect(page.locator('.dag-box[data-step="hold"]')).to_have_attribute(
        "data-phase", "Running", timeout=web.run_ms
    )
    await web.shot(page, "26-run-details-running")
    # The running step's plots grow as it is measured, without a reload.
    cpu = plot(page, "cpuUsageSecondsTotal")
    await expect(cpu).not_to_have_attribute("data-points", "0", timeout=web.page_ms)
    before = int(await cpu.get_attribute("data-points") or "0")
    await page.wait_for_function(
        """([selector, count]) => Number(document.querySelector(selector)?.dataset.points) > count""",
        arg=['figure[data-metric="cpuUsageSecondsTotal"]', before],
        timeout=web.page_ms,
    )

    # Suspended and resumed: the page shows each as the API says it.
    await page.get_by_role("button", name="Suspend").click()
    await expect(phase).to_have_attribute("data-run-phase", "Suspended", timeout=web.page_ms)
    assert (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"] == "Suspended"
    await page.get_by_role("button", name="Resume").click()
    await expect(phase).to_have_attribute("data-run-phase", "Running", timeout=web.page_ms)
    assert (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"] == "Running"

    # A refusal is said in words: the Stop request is sent for a run that is
    # not there (rewritten on its way), and the gateway's answer is shown.
    async def elsewhere(route: Route) -> None:
        body: dict[str, Any] = route.request.post_data_json or {}
        if "stopDryRun" in body.get("query", ""):
            body["variables"]["dryRunId"] = f"{run_id}-gone"
        await route.continue_(post_data=json.dumps(body))

    await page.route("**/graphql", elsewhere)
    await page.get_by_role("button", name="Stop", exact=True).click()
    alert = page.get_by_role("alert").filter(has_text="The run could not be")
    await expect(alert).to_contain_text("The run could not be stopped", timeout=web.page_ms)
    await expect(alert).to_contain_text("not found")
    await web.shot(page, "27-run-details-action-refused")
    await web.assert_accessible(page)
    await page.unroute("**/graphql", elsewhere)

    await page.get_by_role("button", name="Stop", exact=True).click()
    await expect(phase).not_to_have_attribute(
        "data-run-phase", re.compile("Running|Pending"), timeout=web.run_ms
    )
    await expect(alert).to_be_hidden()
    stopped = (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"]
    await expect(phase).to_have_attribute("data-run-phase", stopped)
    assert stopped in ("Failed", "Error")
    await expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()

    # Run again: a new run of the same workflow, shown on its own page, running.
    await page.get_by_role("button", name="Run again").click()
    await expect(page).not_to_have_url(f"{web.url}/runs/{run_id}", timeout=web.page_ms)
    again = page.url.rsplit("/", 1)[-1]
    assert again != run_id
    await expect(page.get_by_role("heading", name=f"Run {again}")).to_be_visible(
        timeout=web.page_ms
    )
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Running", timeout=web.run_ms
    )
    assert (await dev.graphql(PHASE, id=again))["dryRun"]["status"]["phase"] == "Running"
    await dev.graphql("mutation($id: String!) { stopDryRun(dryRunId: $id) { id } }", id=again)


@pytest.mark.timeout(300)
async def test_a_failed_run_is_retried_and_shown_running_again(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    failing = (SimulatedStep("flaky", seconds=8, cpu_millicores=100, memory_mib=16, exit_code=1),)
    document = simulated_pipeline(failing, argo_service("http://unused")).to_dict()
    created = await dev.graphql(
        CREATE, i={"projectId": project, "argoWorkflow": document, "placement": "VIRTUAL_NODES"}
    )
    run_id: str = created["createDryRun"]["id"]
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/runs/{run_id}")
    phase = page.locator("[data-run-phase]")
    box = page.locator('.dag-box[data-step="flaky"]')
    await expect(phase).to_have_attribute("data-run-phase", "Failed", timeout=web.run_ms)
    await expect(box).to_have_attribute("data-phase", "Failed")
    await expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()

    # Retried, it runs again (the replayed Failed of before does not hold it),
    # then fails again as the step does, each as the API says.
    await page.get_by_role("button", name="Retry failed steps").click()
    await expect(phase).to_have_attribute("data-run-phase", "Running", timeout=web.page_ms)
    await expect(box).to_have_attribute("data-phase", re.compile("Pending|Running"))
    assert (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"] == "Running"
    await web.shot(page, "28-run-details-retried")
    await expect(phase).to_have_attribute("data-run-phase", "Failed", timeout=web.run_ms)
    await expect(box).to_have_attribute("data-phase", "Failed", timeout=web.page_ms)
    assert (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"] == "Failed"
