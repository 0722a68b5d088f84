"""The web GUI under the gateway's Content-Security-Policy, in Debian's
chromium: each page, including a run page drawing its graph and plots,
loads and works without a single violation reported, and the policy is the
one the gateway sends (scripts by hash, no 'unsafe-inline' for them)."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, simulated_fan_out
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

# Every violation the page's document reports, kept on its window.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) =>
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""
STEP = SimulatedStep("work", seconds=2, cpu_millicores=200, memory_mib=16)
STEPS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id type phase displayName } } }"""


async def test_no_page_breaks_the_policy(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        policy = (await http.get(f"{web.url}/projects")).headers["content-security-policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src
    assert "'sha256-" in script_src

    created = await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"placement": "VIRTUAL_NODES", "argoWorkflow": simulated_fan_out(STEP, 2)},
    )
    run_id: str = created["createDryRun"]["id"]
    await finished_dry_run(dev, STEPS, run_id, seconds=300, interval=2)

    await page.context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    violations: list[Any] = []
    for path, ready in (
        ("/projects", "h1"),
        ("/tokens", "form"),
        (f"/runs/{run_id}", "tbody tr[data-step]"),
        ("/login", "#token"),
    ):
        await page.goto(f"{web.url}{path}")
        await page.locator(ready).first.wait_for(timeout=web.page_ms)
        if path.startswith("/runs/"):
            # A step's plots: uPlot draws on canvases, styles set from script.
            await page.locator("tbody tr[data-step]").first.get_by_role("button").click()
            await page.locator("figure[data-metric] canvas").first.wait_for(timeout=web.page_ms)
        violations += await page.evaluate("window.__violations")
    assert violations == []
    assert console == []
