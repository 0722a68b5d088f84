"""Our web GUI (services/web, built by `make web`), served by the stack's
gateway, driven in Debian's chromium: sign-in, the projects, a real dry run
of the example pipeline followed live (no reload) on its project's page and
its run page, whose steps, durations and plotted series are checked against
what the API answers. Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.demo import example_document
from simpipe_devstack.example_pipeline import EXAMPLE_REAL_STEPS
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

# The example step that runs longest (it burns a core for 5 s): long enough
# to be seen Running.
WATCHED_STEP = "process"
WATCHED_LOG = "process: sum 5000050000"
# Series the run page plots, as seriesTable names them.
PLOTTED = ("cpuUsageSecondsTotal", "memoryWorkingSetBytes")
# Set on the page's window once it is loaded: gone if the page ever reloads.
STAYED = "window.__simpipeStayed"


async def test_the_gateway_serves_the_app_at_its_routes(web: WebGui) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        entry = await http.get(f"{web.url}/runs/some-run")
        assert entry.status_code == 200
        assert "<title>SIM-PIPE</title>" in entry.text
        scripts = re.findall(r'"(/_app/immutable/[^"]+\.js)"', entry.text)
        assert scripts, entry.text
        for script in scripts:
            served = await http.get(f"{web.url}{script}")
            assert served.status_code == 200
            assert "immutable" in served.headers["cache-control"]


async def test_a_wrong_token_is_refused_with_a_readable_error(page: Page, web: WebGui) -> None:
    await page.goto(f"{web.url}/projects")
    # Not signed in: the projects page sends the user to sign in first.
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fprojects$"), timeout=web.page_ms)
    await web.sign_in(page, "not-a-token-of-anyone")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The gateway refused this token", timeout=web.page_ms)
    await expect(alert).to_contain_text("not valid")
    await expect(page).to_have_url(re.compile(r"/login"))
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None
    await web.shot(page, "1-login-refused")
    await web.assert_accessible(page)


async def listed_projects(dev: AsyncSimpipe) -> dict[str, tuple[str, int]]:
    """The caller's projects: name and number of runs, by id."""
    answer = await dev.graphql("{ projects { id name dryRuns { id } } }")
    return {p["id"]: (p["name"], len(p["dryRuns"])) for p in answer["projects"]}


async def test_local_dev_signs_in_and_sees_their_projects(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    before = await listed_projects(dev)
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await expect(page.get_by_role("banner")).to_contain_text("local-dev")
    await expect(page.locator(f'tr[data-project="{project}"]')).to_be_visible(timeout=web.page_ms)
    after = await listed_projects(dev)
    # Other tests make and delete projects meanwhile: the page lists each
    # project listed before and after it loaded, and none listed by neither.
    shown = await page.locator("tr[data-project]").evaluate_all(
        "rows => rows.map(row => row.dataset.project)"
    )
    assert set(before) & set(after) <= set(shown) <= set(before) | set(after)
    for project_id, (name, runs) in after.items():
        if before.get(project_id) != (name, runs):
            continue
        cells = page.locator(f'tr[data-project="{project_id}"]').get_by_role("cell")
        await expect(cells.nth(0)).to_have_text(name)
        await expect(cells.nth(1)).to_have_text(str(runs))
    await web.shot(page, "2-projects")
    await web.assert_accessible(page)

    # The fresh project: its page and its empty state.
    await page.locator(f'tr[data-project="{project}"]').get_by_role("link").click()
    await expect(page).to_have_url(f"{web.url}/projects/{project}")
    await expect(page.get_by_role("status")).to_contain_text("No dry runs yet", timeout=web.page_ms)
    await web.assert_accessible(page)

    # What is not there (or not the caller's) is said so, readably.
    await page.goto(f"{web.url}/runs/no-such-run")
    await expect(page.get_by_role("alert")).to_contain_text(
        "This run could not be loaded", timeout=web.page_ms
    )
    await expect(page.get_by_role("alert")).to_contain_text("not found")
    await web.shot(page, "2-run-not-found")

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{web.url}/login")
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None


STEPS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id type displayName duration phase
    ... on DryRunNodePod { exitCode } } } }"""
SERIES = """query($id: String!, $node: String!, $m: [String!]!) { dryRun(dryRunId: $id) {
  node(id: $node) { ... on DryRunNodePod { metrics { seriesTable(metrics: $m) } } } } }"""


async def plotted_points(dev: AsyncSimpipe, run_id: str, node_id: str) -> dict[str, int]:
    answer = await dev.graphql(SERIES, id=run_id, node=node_id, m=list(PLOTTED))
    table: dict[str, Any] = answer["dryRun"]["node"]["metrics"]["seriesTable"] or {}
    return {metric: len(table.get(metric, {}).get("timestamps", [])) for metric in PLOTTED}


def step_row(page: Page, name: str) -> Locator:
    return page.locator(f'tbody tr[data-step="{name}"]')


@pytest.mark.timeout(360)
async def test_a_real_run_is_followed_live_and_its_page_shows_what_the_api_says(
    page: Page,
    web: WebGui,
    real_node: Stack,
    dev: AsyncSimpipe,
    project: str,
) -> None:
    await web.sign_in(page, real_node.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/projects/{project}")
    await expect(page.get_by_role("status")).to_contain_text("No dry runs yet", timeout=web.page_ms)
    await page.evaluate(f"{STAYED} = true")

    document, _ = example_document(real_node)
    created = await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"projectId": project, "argoWorkflow": document, "placement": "REAL_NODES"},
    )
    run_id: str = created["createDryRun"]["id"]

    # The project's page lists the new run, and its phase moves, pushed to it.
    run_row = page.locator(f'tr[data-run="{run_id}"]')
    await expect(run_row).to_be_visible(timeout=web.page_ms)
    await expect(run_row).to_have_attribute("data-phase", "Running", timeout=web.run_ms)
    await web.shot(page, "3-project-runs")
    await web.assert_accessible(page)

    # Its run page (the app's own navigation: still no reload) sees the
    # watched step's box go Running, then Succeeded, then the run end.
    await run_row.get_by_role("link").click()
    await expect(page).to_have_url(f"{web.url}/runs/{run_id}")
    box = page.locator(f'.dag-box[data-step="{WATCHED_STEP}"]')
    await expect(box).to_have_attribute("data-phase", "Running", timeout=web.run_ms)
    # Its log pane follows the running step's log (pushed, dryRunStepLog).
    await box.click()
    await expect(page.locator("section[data-log-following]")).to_have_attribute(
        "data-log-following", "true"
    )
    await expect(page.get_by_role("heading", name="Log (live)")).to_be_visible()
    await web.shot(page, "4-run-page-running")
    await expect(box).to_have_attribute("data-phase", "Succeeded", timeout=web.run_ms)
    await expect(
        page.get_by_role("button", name=f"{WATCHED_STEP} Succeeded", exact=True)
    ).to_be_visible()
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Succeeded", timeout=web.run_ms
    )
    assert await page.evaluate(STAYED) is True, "the page reloaded"

    # Every step: its box, its row's phase, duration and exit code as the API's.
    run = (await dev.graphql(STEPS, id=run_id))["dryRun"]
    assert run["status"]["phase"] == "Succeeded"
    pods = [n for n in run["nodes"] if n["type"] == "Pod"]
    assert sorted(p["displayName"] for p in pods) == sorted(s.name for s in EXAMPLE_REAL_STEPS)
    await expect(page.locator(".dag-box")).to_have_count(len(pods))
    await expect(page.locator("tbody tr[data-step]")).to_have_count(len(pods))
    for pod in pods:
        row = step_row(page, pod["displayName"])
        await expect(row).to_have_attribute("data-phase", pod["phase"], timeout=web.page_ms)
        duration = row.locator("td[data-duration]")
        await expect(duration).to_have_attribute("data-duration", str(pod["duration"]))
        await expect(duration).to_have_text(f"{pod['duration']} s")
        await expect(row.get_by_role("cell").nth(4)).to_have_text(pod["exitCode"])
        box = page.locator(f'.dag-box[data-step="{pod["displayName"]}"]')
        await expect(box).to_have_attribute("data-phase", pod["phase"])

    # The watched step's plots draw its series, point for point, and its log.
    [watched] = [p for p in pods if p["displayName"] == WATCHED_STEP]
    await step_row(page, WATCHED_STEP).get_by_role("button").click()
    await expect(page.get_by_role("heading", name=f"Step {WATCHED_STEP}")).to_be_visible()
    await expect(page.locator(f'pre[data-step-log="{WATCHED_STEP}"]')).to_contain_text(
        WATCHED_LOG, timeout=web.page_ms
    )
    points = await plotted_points(dev, run_id, watched["id"])
    for metric, count in points.items():
        assert count > 0, f"the API has no {metric} samples of {WATCHED_STEP}"
        plot = page.locator(f'figure[data-metric="{metric}"]')
        await expect(plot).to_have_attribute("data-points", str(count), timeout=web.page_ms)
        await expect(plot.locator("canvas")).to_be_visible()
    await web.shot(page, "5-run-page")
    await web.assert_accessible(page)

    # Dark theme and a phone's width: still readable.
    await page.get_by_role("button", name="Dark theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await web.shot(page, "6-run-page-dark")
    await web.assert_accessible(page)
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(box).to_be_visible()
    await web.shot(page, "7-run-page-phone")
    await web.assert_accessible(page)
    assert await page.evaluate(STAYED) is True, "the page reloaded"
