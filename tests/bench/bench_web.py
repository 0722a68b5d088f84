"""Benchmark of the web GUI (`make bench`), on the path a user takes: the
gateway serving the built app to Debian's chromium. Each figure is printed
next to the raw component measured in the same run, never asserted:

- the built app's size, gzip-compressed, as a browser downloads it;
- the run page's first paint for a 100-step run on KWOK (and, with
  SIMPIPE_BENCH_GUI_2000=1, a 2,000-step one, stopped once all its steps are
  listed): from navigation until the step table holds every step (it draws
  those in view), against the raw GraphQL query of the same run's steps (the
  page's data, without the page);
- a run's phase change shown on the open run page, from the change written
  to the Workflow (spec.suspend toggled) until the page's phase attribute
  changes (a MutationObserver's clock), against a raw Kubernetes watch of the
  same Workflow seeing the change.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from kubernetes import client, config, watch
from playwright.async_api import Browser, Page

from simpipe_client import AsyncSimpipe
from simpipe_devstack.bench_stats import report
from simpipe_devstack.example_pipeline import SimulatedStep, held_workflow, simulated_fan_out
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WEB_BUILD
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

USER = "local-dev"
PAINTS = 7
TOGGLES = 10
STEP = SimulatedStep("work", seconds=2, cpu_millicores=10, memory_mib=8)
STEPS_QUERY = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id type phase displayName startedAt finishedAt duration
    ... on DryRunNodePod { exitCode } } } }"""
# Records when the page's run phase changes, by the page's own clock.
WATCH_PHASE = """() => {
  window.__phases = [];
  const seen = document.querySelector('[data-run-phase]');
  new MutationObserver(() => window.__phases.push(
      [seen.getAttribute('data-run-phase'), performance.timeOrigin + performance.now()]))
    .observe(seen, {attributes: true, attributeFilter: ['data-run-phase']});
}"""


@pytest.fixture(scope="module")
def gui(web: WebGui) -> str:
    """The GUI's address, checked served by the shared `web` fixture."""
    return web.url


async def signed_in_page(browser: Browser, token: str) -> Page:
    """A fresh page (no cache) with the token where the GUI keeps it."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(
        f"sessionStorage.setItem('simpipe.token', {json.dumps(token)});"
        f"sessionStorage.setItem('simpipe.username', {json.dumps(USER)});"
    )
    return await context.new_page()


def test_built_app_size() -> None:
    sizes = {
        path.relative_to(WEB_BUILD): len(gzip.compress(path.read_bytes(), 9))
        for path in WEB_BUILD.rglob("*")
        if path.is_file() and path.suffix in (".js", ".css", ".html", ".svg", ".json")
    }
    assert sizes, "the web GUI is not built"
    largest = max(sizes, key=lambda p: sizes[p])
    print(
        f"\n[bench] web GUI built size (gzip -9): {sum(sizes.values()) / 1024:.1f} KiB in"
        f" {len(sizes)} files; largest {largest} {sizes[largest] / 1024:.1f} KiB"
    )


# Wider fan-outs are slow here (2 cores shared by Argo's controller, working
# on the Workflow's compressed nodes, and KWOK): such a run is stopped once
# every step is listed, and its page measured ended.
STOP_FROM = 1000
STOP = "mutation($id: String!) { stopDryRun(dryRunId: $id, terminate: true) { id } }"


async def ended_fan_out(gql: AsyncSimpipe, width: int) -> str:
    created = await gql.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"placement": "VIRTUAL_NODES", "argoWorkflow": simulated_fan_out(STEP, width)},
    )
    run_id: str = created["createDryRun"]["id"]
    if width >= STOP_FROM:
        async with asyncio.timeout(900):
            while True:
                run = (await gql.graphql(STEPS_QUERY, id=run_id))["dryRun"]
                if sum(n["type"] == "Pod" for n in run["nodes"] or []) >= width:
                    break
                await asyncio.sleep(5)
        await gql.graphql(STOP, id=run_id)
    await finished_dry_run(gql, STEPS_QUERY, run_id, seconds=900, interval=5)
    return run_id


async def first_paint(
    browser: Browser, gui: str, endpoints: dict[str, str], token: str, run_id: str, steps: int
) -> None:
    paints: list[float] = []
    raw: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(PAINTS):
            page = await signed_in_page(browser, token)
            started = time.perf_counter()
            await page.goto(f"{gui}/runs/{run_id}")
            # A function, not an expression: the page's CSP forbids eval.
            await page.wait_for_function(
                # The step table holds every step (it draws those in view).
                "(n) => Number(document.querySelector('[data-rows]')?.dataset.rows) >= n",
                arg=steps,
                timeout=120_000,
            )
            paints.append(time.perf_counter() - started)
            await page.context.close()
            started = time.perf_counter()
            answer = await http.post(
                endpoints["graphql"],
                json={"query": STEPS_QUERY, "variables": {"id": run_id}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert len(answer.json()["data"]["dryRun"]["nodes"]) > steps
            raw.append(time.perf_counter() - started)
    what = f"run page first paint, {steps} steps" + (
        " (stopped once all were listed)" if steps >= STOP_FROM else ""
    )
    report(what, paints, raw, "raw GraphQL query of its steps")


@pytest.mark.timeout(2400)
async def test_run_page_first_paint(
    stack: Stack, endpoints: dict[str, str], gui: str, browser: Browser, dev: AsyncSimpipe
) -> None:
    token = stack.secrets.api_tokens[USER]
    sizes = [100, 2000] if os.environ.get("SIMPIPE_BENCH_GUI_2000") == "1" else [100]
    for steps in sizes:
        run_id = await ended_fan_out(dev, steps)
        try:
            await first_paint(browser, gui, endpoints, token, run_id, steps)
        finally:
            await dev.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id)


@pytest.mark.timeout(300)
async def test_phase_change_on_the_run_page_vs_raw_watch(
    stack: Stack, gui: str, browser: Browser
) -> None:
    api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
    name = f"bench-web-{uuid.uuid4().hex[:6]}"
    workflows = ("argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows")
    api.create_namespaced_custom_object(*workflows, held_workflow(name, USER))
    raw_events: list[tuple[float, bool]] = []
    stop = threading.Event()
    listed = threading.Event()

    def raw_watch() -> None:
        w = watch.Watch()
        for event in w.stream(
            api.list_namespaced_custom_object, *workflows,
            field_selector=f"metadata.name={name}", timeout_seconds=240,
        ):  # fmt: skip
            suspended = bool(event["object"].get("spec", {}).get("suspend"))
            raw_events.append((time.time(), suspended))
            listed.set()
            if stop.is_set():
                w.stop()

    page = await signed_in_page(browser, stack.secrets.api_tokens[USER])
    try:
        await page.goto(f"{gui}/runs/{name}")
        await page.wait_for_selector("[data-run-phase='Running']", timeout=120_000)
        await page.evaluate(WATCH_PHASE)
        thread = threading.Thread(target=raw_watch, daemon=True)
        thread.start()
        # Changes count from after the watch's first event (its listing of the run).
        assert await asyncio.to_thread(listed.wait, 30), "the raw watch never listed the run"
        ours: list[float] = []
        raw: list[float] = []
        for i in range(TOGGLES * 2):
            suspend = i % 2 == 0
            wanted = "Suspended" if suspend else "Running"
            written = time.time()
            await asyncio.to_thread(
                api.patch_namespaced_custom_object, *workflows, name, {"spec": {"suspend": suspend}}
            )
            await page.wait_for_selector(f"[data-run-phase='{wanted}']", timeout=30_000)
            shown: list[Any] = await page.evaluate("window.__phases")
            ours.append(next(t for p, t in reversed(shown) if p == wanted) / 1000 - written)
            seen = [t for t, s in raw_events if t >= written and s == suspend]
            while not seen:
                await asyncio.sleep(0.001)
                seen = [t for t, s in raw_events if t >= written and s == suspend]
            raw.append(seen[0] - written)
            await asyncio.sleep(0.3)
        report("phase change shown on the run page", ours, raw, "raw kube watch")
    finally:
        stop.set()
        await page.context.close()
        api.delete_namespaced_custom_object(*workflows, name)
