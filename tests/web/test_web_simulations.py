"""Virtual clusters and simulations in our web GUI (Debian's chromium
against the stack): a cluster made, resized and deleted on its page; a
simulation of a project's template started from the page with its timing
taken from a dry run that really ran (on KWOK's virtual nodes), refused
with the gateway's words when the scaler cannot do it, followed live to its
end without a reload, its report and its comparison with the reference run
shown as the API gives them, then deleted."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path

import nats
import pytest
from nats.js.api import DeliverPolicy
from playwright.async_api import Page, expect

from simpipe.v1 import events_pb2
from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui, js_number
from simpipe_events import contract

EXAMPLE = Path(__file__).parents[1] / "examples" / "three-step-pipeline.yaml"
PHASE = "query($id: String!) { dryRun(dryRunId: $id) { status { phase } } }"
REPORT = """query($id: String!) { simulationReport(id: $id) { makespanSeconds
  steps { templateName } } }"""
COMPARE = """query($a: String!, $run: String!) { compareSimulations(a: $a, referenceDryRunId: $run) {
  makespanSecondsB steps { step runSecondsA runSecondsB } } }"""
STAYED = "window.__simpipeStayed"
REPORTED = contract.event_type(events_pb2.MetricsReady)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def template_with_a_run(
    dev: AsyncSimpipe, project: str, nats_url: str, mesh: ServiceSettings
) -> tuple[str, str]:
    """The example pipeline as one of the project's templates, and a dry run
    of it on virtual nodes that has Succeeded and has its report (the
    simulation's timing is read from the report)."""
    name = unique("three-step")
    text = EXAMPLE.read_text().replace("three-step-pipeline", name, 1)
    await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={"projectId": project, "argoWorkflowTemplate": text},
    )
    run = await dev.graphql(
        "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id } }",
        i={"projectId": project, "workflowTemplateName": name, "placement": "VIRTUAL_NODES"},
    )
    run_id: str = run["createDryRunFromTemplate"]["id"]
    connection = await nats.connect(nats_url, **connect_options(mesh))
    try:
        reported = await connection.jetstream().subscribe(
            REPORTED.filter(run=run_id), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        # The collector's event that the run's report is in S3 (stored: seen even if already sent).
        await reported.next_msg(timeout=180)
    finally:
        await connection.close()
    phase = (await dev.graphql(PHASE, id=run_id))["dryRun"]["status"]["phase"]
    assert phase == "Succeeded", phase
    return name, run_id


@pytest.mark.timeout(420)
async def test_a_cluster_and_a_simulation_made_followed_and_compared_on_their_pages(
    page: Page,
    web: WebGui,
    stack: Stack,
    dev: AsyncSimpipe,
    project: str,
    endpoints: dict[str, str],
    mesh: ServiceSettings,
) -> None:
    template, reference = await template_with_a_run(dev, project, endpoints["nats"], mesh)
    cluster = unique("web-sim")
    simulations: list[str] = []
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    try:
        # A cluster of two single-pod nodes, then three.
        await page.goto(f"{web.url}/clusters")
        await page.get_by_placeholder("made up when empty").fill(cluster)
        pool = page.get_by_role("group", name="Pool 1")
        await pool.get_by_label("Name").fill("one")
        await pool.get_by_label("Nodes").fill("2")
        await pool.get_by_label("CPU per node").fill("1")
        await pool.get_by_label("Memory per node").fill("2Gi")
        await pool.get_by_label("Pods per node").fill("1")
        await page.get_by_role("button", name="Create cluster").click()
        section = page.locator(f'section[data-cluster="{cluster}"]')
        row = section.locator('tr[data-pool="one"]')
        await expect(row).to_have_attribute("data-count", "2", timeout=web.page_ms)
        await section.get_by_label("Nodes of one").fill("3")
        await section.get_by_role("button", name="Resize").click()
        await expect(row).to_have_attribute("data-count", "3", timeout=web.page_ms)
        listed = (await dev.graphql("{ virtualClusters { id pools { name count } } }"))[
            "virtualClusters"
        ]
        assert {"id": cluster, "pools": [{"name": "one", "count": 3}]} in listed
        await web.shot(page, "virtual-clusters")
        await web.assert_accessible(page)

        # Three copies, timed by the reference run, each step 4x as long.
        await page.goto(f"{web.url}/simulations?project={project}")
        await page.get_by_label("Template").select_option(template)
        await page.get_by_label("Virtual cluster").select_option(cluster)
        await page.get_by_label(re.compile("^Pool")).select_option("one")
        await expect(page.get_by_label(re.compile("^Dry run"))).to_contain_text(reference)
        await page.get_by_label(re.compile("^Copies")).fill("3")
        await page.get_by_label("Duration factor").fill("4")
        # Faster than the scaler can measure: refused, in its words, and nothing starts.
        await page.get_by_label("Time scale").fill("100")
        await page.get_by_role("button", name="Start simulation").click()
        await expect(page.locator(".notice", has_text="time_scale")).to_be_visible(
            timeout=web.page_ms
        )
        assert page.url.endswith(f"/simulations?project={project}")
        await web.assert_accessible(page)
        await page.get_by_label("Time scale").fill("2")
        await page.get_by_role("button", name="Start simulation").click()
        await expect(page).to_have_url(re.compile(r"/simulations/[a-z0-9-]+$"), timeout=web.page_ms)
        simulation = page.url.rsplit("/", 1)[1]
        simulations.append(simulation)
        await page.evaluate(f"{STAYED} = true")

        # Followed live to its end: a phase before the end, then Succeeded.
        phase = page.locator("[data-simulation-phase]")
        await expect(phase).not_to_have_attribute("data-simulation-phase", "Succeeded")
        await web.shot(page, "simulation-running")
        await expect(phase).to_have_attribute(
            "data-simulation-phase", "Succeeded", timeout=web.run_ms
        )
        progress = page.locator("[data-steps-done]")
        await expect(progress).to_have_attribute("data-steps-done", "9", timeout=web.page_ms)
        await expect(progress).to_have_attribute("data-steps-total", "9")
        report = (await dev.graphql(REPORT, id=simulation))["simulationReport"]
        await expect(page.locator("[data-makespan]")).to_have_attribute(
            "data-makespan", js_number(report["makespanSeconds"]), timeout=web.page_ms
        )
        await expect(page.locator("tr[data-copy]")).to_have_count(len(report["steps"]))
        assert len(report["steps"]) == 9
        await expect(page.locator('[data-report="json"]')).to_have_attribute(
            "href", re.compile("^http")
        )

        # Beside the run it was timed by, as the API compares them.
        await page.get_by_role("button", name="Compare").click()
        compared = (await dev.graphql(COMPARE, a=simulation, run=reference))["compareSimulations"]
        table = page.locator(f'[data-comparison="{reference}"]')
        for step in compared["steps"]:
            row = table.locator(f'tr[data-step="{step["step"]}"]')
            await expect(row).to_have_attribute(
                "data-a", js_number(step["runSecondsA"]), timeout=web.page_ms
            )
            await expect(row).to_have_attribute("data-b", js_number(step["runSecondsB"]))
        assert {s["step"] for s in compared["steps"]} == {"pre-process", "process", "analyse"}
        assert await page.evaluate(STAYED) is True, "the page reloaded"
        await web.shot(page, "simulation-report")
        await web.assert_accessible(page)
        # Dark theme and a phone's width: still readable, the page not wider than the phone.
        await page.get_by_role("button", name="Dark theme").click()
        await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        await web.assert_accessible(page)
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(page.locator("[data-makespan]")).to_be_visible()
        await web.assert_fits(page, 390)
        await web.shot(page, "simulation-report-phone-dark")
        await web.assert_accessible(page)
        await page.set_viewport_size({"width": 1280, "height": 900})

        # Deleted from its page; then the cluster from its own.
        await page.get_by_role("button", name="Delete", exact=True).click()
        await page.get_by_role("button", name="Delete simulation").click()
        await expect(page).to_have_url(f"{web.url}/simulations", timeout=web.page_ms)
        listed_ids = [s["id"] for s in (await dev.graphql("{ simulations { id } }"))["simulations"]]
        assert simulation not in listed_ids
        simulations.remove(simulation)
        await page.goto(f"{web.url}/clusters")
        await section.get_by_role("button", name="Delete", exact=True).click()
        await section.get_by_role("button", name="Delete cluster").click()
        await expect(section).to_have_count(0, timeout=web.page_ms)
        clusters = (await dev.graphql("{ virtualClusters { id } }"))["virtualClusters"]
        assert cluster not in [c["id"] for c in clusters]
    finally:
        for leftover in simulations:
            with contextlib.suppress(GraphQLError):
                await dev.graphql(
                    "mutation($id: String!) { deleteSimulation(id: $id) }", id=leftover
                )
        with contextlib.suppress(GraphQLError):
            await dev.graphql(
                "mutation($id: String!) { deleteVirtualCluster(id: $id) }", id=cluster
            )
