"""Our web GUI (services/web, built by `make web`), served by the stack's
gateway, driven in Debian's chromium: sign-in, the projects, a real dry run
of the example pipeline followed live (no reload) on its project's page and
its run page, whose steps, durations and plotted series are checked against
what the API answers. Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from simpipe_devstack.demo import example_document
from simpipe_devstack.example_pipeline import EXAMPLE_REAL_STEPS
from simpipe_devstack.graphql_client import GraphQLClient
from simpipe_devstack.layout import WEB_BUILD
from simpipe_devstack.stack import Stack

# Conditions a page reaches within these, or the test fails.
PAGE_MS = 30_000
RUN_MS = 240_000
# The example step that runs longest (it burns a core for 5 s): long enough
# to be seen Running.
WATCHED_STEP = "process"
WATCHED_LOG = "process: sum 5000050000"
# Series the run page plots, as seriesTable names them.
PLOTTED = ("cpuUsageSecondsTotal", "memoryWorkingSetBytes")
# Set on the page's window once it is loaded: gone if the page ever reloads.
STAYED = "window.__simpipeStayed"
# axe-core, installed with the app's dev tools (services/web/package.json).
AXE = WEB_BUILD.parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def gui(endpoints: dict[str, str]) -> str:
    if not (WEB_BUILD / "index.html").is_file():
        pytest.fail("the web GUI is not built: run `make web`, then restart the gateway")
    url = endpoints["gateway_http"].rstrip("/")
    # The gateway serves the build only if it was there when it started.
    if "<title>SIM-PIPE</title>" not in httpx.get(f"{url}/projects", timeout=10).text:
        pytest.fail("the gateway does not serve the web GUI: restart it after `make web`")
    return url


@pytest.fixture(scope="session")
def shots(stack: Stack) -> Path:
    path = stack.layout.state / "web-gui"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    yield await context.new_page()
    await context.close()


async def sign_in(page: Page, gui: str, token: str) -> None:
    await page.goto(f"{gui}/login")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def assert_accessible(page: Page) -> None:
    """axe-core's rules on the page as it is now: no serious or critical violation."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=AXE)
    violations: list[dict[str, Any]] = await page.evaluate(
        "async () => (await axe.run(document)).violations"
    )
    grave = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not grave, f"{page.url}: {grave}"


async def test_the_gateway_serves_the_app_at_its_routes(gui: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        entry = await http.get(f"{gui}/runs/some-run")
        assert entry.status_code == 200
        assert "<title>SIM-PIPE</title>" in entry.text
        scripts = re.findall(r'"(/_app/immutable/[^"]+\.js)"', entry.text)
        assert scripts, entry.text
        for script in scripts:
            served = await http.get(f"{gui}{script}")
            assert served.status_code == 200
            assert "immutable" in served.headers["cache-control"]


async def test_a_wrong_token_is_refused_with_a_readable_error(
    page: Page, gui: str, shots: Path
) -> None:
    await page.goto(f"{gui}/projects")
    # Not signed in: the projects page sends the user to sign in first.
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fprojects$"), timeout=PAGE_MS)
    await sign_in(page, gui, "not-a-token-of-anyone")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The gateway refused this token", timeout=PAGE_MS)
    await expect(alert).to_contain_text("not valid")
    await expect(page).to_have_url(re.compile(r"/login"))
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None
    await page.screenshot(path=shots / "1-login-refused.png")
    await assert_accessible(page)


async def listed_projects(dev: GraphQLClient) -> dict[str, tuple[str, int]]:
    """The caller's projects: name and number of runs, by id."""
    answer = await dev.execute("{ projects { id name dryRuns { id } } }")
    return {p["id"]: (p["name"], len(p["dryRuns"])) for p in answer["projects"]}


async def test_local_dev_signs_in_and_sees_their_projects(
    page: Page, gui: str, shots: Path, stack: Stack, dev: GraphQLClient, project: str
) -> None:
    before = await listed_projects(dev)
    await sign_in(page, gui, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{gui}/projects", timeout=PAGE_MS)
    await expect(page.get_by_role("banner")).to_contain_text("local-dev")
    await expect(page.locator(f'tr[data-project="{project}"]')).to_be_visible(timeout=PAGE_MS)
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
    await page.screenshot(path=shots / "2-projects.png", full_page=True)
    await assert_accessible(page)

    # The fresh project: its page and its empty state.
    await page.locator(f'tr[data-project="{project}"]').get_by_role("link").click()
    await expect(page).to_have_url(f"{gui}/projects/{project}")
    await expect(page.get_by_role("status")).to_contain_text("No dry runs yet", timeout=PAGE_MS)
    await assert_accessible(page)

    # What is not there (or not the caller's) is said so, readably.
    await page.goto(f"{gui}/runs/no-such-run")
    await expect(page.get_by_role("alert")).to_contain_text(
        "This run could not be loaded", timeout=PAGE_MS
    )
    await expect(page.get_by_role("alert")).to_contain_text("not found")
    await page.screenshot(path=shots / "2-run-not-found.png")

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{gui}/login")
    assert await page.evaluate("sessionStorage.getItem('simpipe.token')") is None


STEPS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id type displayName duration phase
    ... on DryRunNodePod { exitCode } } } }"""
SERIES = """query($id: String!, $node: String!, $m: [String!]!) { dryRun(dryRunId: $id) {
  node(id: $node) { ... on DryRunNodePod { metrics { seriesTable(metrics: $m) } } } } }"""


async def plotted_points(dev: GraphQLClient, run_id: str, node_id: str) -> dict[str, int]:
    answer = await dev.execute(SERIES, id=run_id, node=node_id, m=list(PLOTTED))
    table: dict[str, Any] = answer["dryRun"]["node"]["metrics"]["seriesTable"] or {}
    return {metric: len(table.get(metric, {}).get("timestamps", [])) for metric in PLOTTED}


def step_row(page: Page, name: str) -> Locator:
    return page.locator(f'tbody tr[data-step="{name}"]')


@pytest.mark.timeout(360)
async def test_a_real_run_is_followed_live_and_its_page_shows_what_the_api_says(
    page: Page,
    gui: str,
    shots: Path,
    real_node: Stack,
    dev: GraphQLClient,
    project: str,
) -> None:
    await sign_in(page, gui, real_node.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{gui}/projects", timeout=PAGE_MS)
    await page.goto(f"{gui}/projects/{project}")
    await expect(page.get_by_role("status")).to_contain_text("No dry runs yet", timeout=PAGE_MS)
    await page.evaluate(f"{STAYED} = true")

    document, _ = example_document(real_node)
    created = await dev.execute(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"projectId": project, "argoWorkflow": document, "placement": "REAL_NODES"},
    )
    run_id: str = created["createDryRun"]["id"]

    # The project's page lists the new run, and its phase moves, pushed to it.
    run_row = page.locator(f'tr[data-run="{run_id}"]')
    await expect(run_row).to_be_visible(timeout=PAGE_MS)
    await expect(run_row).to_have_attribute("data-phase", "Running", timeout=RUN_MS)
    await page.screenshot(path=shots / "3-project-runs.png")
    await assert_accessible(page)

    # Its run page (the app's own navigation: still no reload) sees the
    # watched step's box go Running, then Succeeded, then the run end.
    await run_row.get_by_role("link").click()
    await expect(page).to_have_url(f"{gui}/runs/{run_id}")
    box = page.locator(f'.dag-box[data-step="{WATCHED_STEP}"]')
    await expect(box).to_have_attribute("data-phase", "Running", timeout=RUN_MS)
    # Its log pane follows the running step's log (pushed, dryRunStepLog).
    await box.click()
    await expect(page.locator("section[data-log-following]")).to_have_attribute(
        "data-log-following", "true"
    )
    await expect(page.get_by_role("heading", name="Log (live)")).to_be_visible()
    await page.screenshot(path=shots / "4-run-page-running.png", full_page=True)
    await expect(box).to_have_attribute("data-phase", "Succeeded", timeout=RUN_MS)
    await expect(
        page.get_by_role("button", name=f"{WATCHED_STEP} Succeeded", exact=True)
    ).to_be_visible()
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Succeeded", timeout=RUN_MS
    )
    assert await page.evaluate(STAYED) is True, "the page reloaded"

    # Every step: its box, its row's phase, duration and exit code as the API's.
    run = (await dev.execute(STEPS, id=run_id))["dryRun"]
    assert run["status"]["phase"] == "Succeeded"
    pods = [n for n in run["nodes"] if n["type"] == "Pod"]
    assert sorted(p["displayName"] for p in pods) == sorted(s.name for s in EXAMPLE_REAL_STEPS)
    await expect(page.locator(".dag-box")).to_have_count(len(pods))
    await expect(page.locator("tbody tr[data-step]")).to_have_count(len(pods))
    for pod in pods:
        row = step_row(page, pod["displayName"])
        await expect(row).to_have_attribute("data-phase", pod["phase"], timeout=PAGE_MS)
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
        WATCHED_LOG, timeout=PAGE_MS
    )
    points = await plotted_points(dev, run_id, watched["id"])
    for metric, count in points.items():
        assert count > 0, f"the API has no {metric} samples of {WATCHED_STEP}"
        plot = page.locator(f'figure[data-metric="{metric}"]')
        await expect(plot).to_have_attribute("data-points", str(count), timeout=PAGE_MS)
        await expect(plot.locator("canvas")).to_be_visible()
    await page.screenshot(path=shots / "5-run-page.png", full_page=True)
    await assert_accessible(page)

    # Dark theme and a phone's width: still readable.
    await page.get_by_role("button", name="Dark theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await page.screenshot(path=shots / "6-run-page-dark.png", full_page=True)
    await assert_accessible(page)
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(box).to_be_visible()
    await page.screenshot(path=shots / "7-run-page-phone.png", full_page=True)
    await assert_accessible(page)
    assert await page.evaluate(STAYED) is True, "the page reloaded"
