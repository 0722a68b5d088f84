"""A run of many steps stays usable on our web GUI's run page (Debian's
chromium against the stack): a simulated fan-out on KWOK's virtual nodes is
drawn as one group box counting its steps and their phases, live (no
reload) until all have Succeeded, as many as the API lists; it opens to the
steps and collapses again; the graph zooms and pans. The 2,000-step first
paint is measured by tests/bench/bench_web.py."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, simulated_fan_out
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

WIDTH = 40
STEP = SimulatedStep("work", seconds=3, cpu_millicores=10, memory_mib=8)
PODS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id type phase displayName } } }"""
STAYED = "window.__simpipeStayed"


@pytest.mark.timeout(300)
async def test_a_fan_out_is_one_group_that_opens_zooms_and_pans(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    created = await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"placement": "VIRTUAL_NODES", "argoWorkflow": simulated_fan_out(STEP, WIDTH)},
    )
    run_id: str = created["createDryRun"]["id"]
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/runs/{run_id}")
    group = page.locator('.dag-group[data-group="work"]')
    await expect(group).to_be_visible(timeout=web.run_ms)
    await page.evaluate(f"{STAYED} = true")
    # Seen before the end, then at the end, pushed to the page.
    await expect(group).not_to_have_attribute(
        "data-phases", json.dumps({"Succeeded": WIDTH}, separators=(",", ":"))
    )
    await web.shot(page, "big-dag-running")
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Succeeded", timeout=web.run_ms
    )
    run = (await dev.graphql(PODS, id=run_id))["dryRun"]
    work = [n for n in run["nodes"] if n["type"] == "Pod" and n["displayName"].startswith("work(")]
    assert len(work) == WIDTH
    await expect(group).to_have_attribute("data-count", str(len(work)))
    await expect(group).to_have_attribute(
        "data-phases", json.dumps({"Succeeded": len(work)}, separators=(",", ":"))
    )
    await expect(group).to_have_attribute("aria-expanded", "false")
    await expect(page.locator(".dag-box[data-step]")).to_have_count(0)
    await web.assert_accessible(page)

    # The step table draws the rows in view; scrolled to its end, the last ones.
    table = page.locator("div.table-frame[data-rows]")
    await expect(table).to_have_attribute("data-rows", str(len(work)))
    drawn = int(await table.get_attribute("data-drawn") or 0)
    assert 0 < drawn < len(work), drawn
    names = {node["displayName"] for node in work}
    first_rows = set(await table.locator("tr[data-step]").evaluate_all(
        "rows => rows.map(r => r.dataset.step)"
    ))  # fmt: skip
    top = await table.locator("tr[data-step]").first.get_attribute("data-step")
    await table.evaluate("frame => { frame.scrollTop = frame.scrollHeight; }")
    await expect(table.locator("tr[data-step]").first).not_to_have_attribute("data-step", top or "")
    last_rows = set(await table.locator("tr[data-step]").evaluate_all(
        "rows => rows.map(r => r.dataset.step)"
    ))  # fmt: skip
    assert last_rows - first_rows, "scrolling drew no other rows"
    assert first_rows | last_rows <= names

    # Opened: every step's own box, each with the API's phase; then closed.
    await group.click()
    await expect(group).to_have_attribute("aria-expanded", "true")
    await expect(page.locator(".dag-box[data-step]")).to_have_count(len(work))
    for node in work[:5]:
        box = page.locator(f'.dag-box[data-step="{node["displayName"]}"]')
        await expect(box).to_have_attribute("data-phase", node["phase"])

    # Zoom, and pan by dragging the frame.
    svg = page.locator("svg.dag")
    width = float(await svg.get_attribute("width") or 0)
    await page.get_by_role("button", name="Zoom out").click()
    await expect(svg).to_have_attribute("data-zoom", "0.8")
    assert float(await svg.get_attribute("width") or 0) == pytest.approx(width * 0.8)
    await page.get_by_role("button", name="Actual size").click()
    frame = page.locator(".dag-frame")
    bounds = await frame.bounding_box()
    assert bounds is not None
    before = await frame.evaluate("f => f.scrollLeft")
    # A spot of the frame's background, below the boxes' row.
    x, y = bounds["x"] + bounds["width"] - 20, bounds["y"] + bounds["height"] - 8
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x - 300, y, steps=5)
    await page.mouse.up()
    assert await frame.evaluate("f => f.scrollLeft") > before
    await web.shot(page, "big-dag-open")

    await page.get_by_role("button", name="Collapse all groups").click()
    await expect(page.locator(".dag-box[data-step]")).to_have_count(0)
    await expect(group).to_have_attribute("aria-expanded", "false")
    assert await page.evaluate(STAYED) is True, "the page reloaded"
