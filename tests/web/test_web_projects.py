"""Projects, templates and starting runs in our web GUI, in Debian's
chromium against the stack: a project created, renamed and deleted through
its pages; a template refused with the refusal shown at its line, another
added; a dry run of it started with a parameter changed, on KWOK's virtual
nodes, followed to its end, and the value it ran with read back from the
API; a rename that a load read before it (delivered after it) does not undo.
Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
import yaml
from playwright.async_api import Page, Route, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

STEP = SimulatedStep("work", seconds=2, cpu_millicores=50, memory_mib=8)
PROJECTS = "{ projects { id name workflowTemplates { name } } }"
TEMPLATE = "query($name: String!) { workflowTemplate(name: $name) { argoWorkflowTemplate } }"
RUN = """query($id: String!) { dryRun(dryRunId: $id) { argoWorkflow project { id }
  status { phase } } }"""


def template_document(name: str, privileged: bool = False) -> dict[str, Any]:
    """A one-step pipeline on KWOK nodes as a WorkflowTemplate with a parameter."""
    document: dict[str, Any] = simulated_pipeline((STEP,), argo_service("http://unused")).to_dict()
    document["kind"] = "WorkflowTemplate"
    document["metadata"] = {"name": name}
    document["spec"]["arguments"] = {
        "parameters": [{"name": "greeting", "value": "hello", "description": "what to say"}]
    }
    if privileged:
        [step] = [t for t in document["spec"]["templates"] if "container" in t]
        step["container"].setdefault("securityContext", {})["privileged"] = True
    return document


async def listed(dev: AsyncSimpipe) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in (await dev.graphql(PROJECTS))["projects"]}


@pytest.mark.timeout(300)
async def test_a_project_made_used_and_deleted_through_its_pages(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    name = f"web project {uuid.uuid4().hex[:6]}"
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.get_by_label("New project").fill(name)
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/projects/[a-z0-9-]+$"), timeout=web.page_ms)
    project_id = page.url.rsplit("/", 1)[1]
    try:
        await project_pages(page, web, dev, project_id, name)
    finally:
        if project_id in await listed(dev):
            await dev.graphql(
                "mutation($p: String!) { deleteProject(projectId: $p) }", p=project_id
            )


async def project_pages(
    page: Page, web: WebGui, dev: AsyncSimpipe, project_id: str, name: str
) -> None:
    assert (await listed(dev))[project_id]["name"] == name
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)

    renamed = f"{name} renamed"
    await page.get_by_role("button", name="Rename…").click()
    await page.get_by_label("New name").fill(renamed)
    await page.get_by_role("button", name="Rename", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(renamed, timeout=web.page_ms)
    assert (await listed(dev))[project_id]["name"] == renamed

    # A template the policy refuses: the refusal, and the line it points at.
    template = f"web-tpl-{uuid.uuid4().hex[:6]}"
    bad = yaml.safe_dump(template_document(f"{template}-bad", privileged=True))
    bad_line = next(i for i, line in enumerate(bad.splitlines(), 1) if "privileged: true" in line)
    await page.locator("#template-text").fill(bad)
    await page.get_by_role("button", name="Add the template").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The template was refused", timeout=web.page_ms)
    await expect(alert).to_contain_text("privileged")
    marked = page.locator("figure[data-marked-line]")
    await expect(marked).to_have_attribute("data-marked-line", str(bad_line))
    await expect(marked.locator("[aria-current=true]")).to_contain_text("privileged: true")
    await web.shot(page, "project-template-refused")
    await web.assert_accessible(page)

    # A good one: listed by the page as by the API.
    await page.locator("#template-text").fill(yaml.safe_dump(template_document(template)))
    await page.get_by_role("button", name="Add the template").click()
    await expect(page.locator(f'li[data-template="{template}"]')).to_be_visible(timeout=web.page_ms)
    held = [t["name"] for t in (await listed(dev))[project_id]["workflowTemplates"]]
    assert held == [template]

    # Edited in place: its parameter's default changed, as the API then holds it.
    await page.get_by_role("button", name=f"Edit… {template}").click()
    text = page.locator("#template-text")
    await expect(text).to_have_value(re.compile("value: hello"))
    await text.fill((await text.input_value()).replace("value: hello", "value: hi there"))
    await page.get_by_role("button", name="Save the template").click()
    await expect(page.get_by_role("button", name="Add the template")).to_be_visible(
        timeout=web.page_ms
    )
    stored = await dev.graphql(TEMPLATE, name=template)
    [parameter] = stored["workflowTemplate"]["argoWorkflowTemplate"]["spec"]["arguments"][
        "parameters"
    ]
    assert parameter["value"] == "hi there"

    # A run of it, with its parameter changed, on virtual nodes.
    await page.get_by_label("A template of this project").check()
    await page.get_by_label("Template", exact=True).select_option(template)
    greeting = page.get_by_label("greeting")
    await expect(greeting).to_have_value("hi there")
    await greeting.fill("from the GUI")
    await page.get_by_label("Nodes").select_option("VIRTUAL_NODES")
    await web.shot(page, "project-start-run")
    await page.get_by_role("button", name="Start the dry run").click()
    await expect(page).to_have_url(re.compile(r"/runs/[^/]+$"), timeout=web.page_ms)
    run_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("[data-run-phase]")).to_have_attribute(
        "data-run-phase", "Succeeded", timeout=web.run_ms
    )
    run = (await dev.graphql(RUN, id=run_id))["dryRun"]
    assert run["project"]["id"] == project_id
    assert run["status"]["phase"] == "Succeeded"
    parameters = run["argoWorkflow"]["spec"]["arguments"]["parameters"]
    assert {"name": "greeting", "value": "from the GUI"} in [
        {"name": p["name"], "value": p.get("value")} for p in parameters
    ]

    # Back on the project: the run listed; a phone's width, dark, still usable.
    await page.goto(f"{web.url}/projects/{project_id}")
    await expect(page.locator(f'tr[data-run="{run_id}"]')).to_have_attribute(
        "data-phase", "Succeeded", timeout=web.page_ms
    )
    await page.get_by_role("button", name="Dark theme").click()
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.get_by_role("button", name="Start the dry run")).to_be_visible()
    await web.shot(page, "project-phone-dark")
    await web.assert_accessible(page)
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Deleted after a confirmation; Cancel keeps it.
    await page.get_by_role("button", name="Delete…", exact=True).click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    assert project_id in await listed(dev)
    await page.get_by_role("button", name="Delete…", exact=True).click()
    await page.get_by_role("button", name="Delete the project").click()
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    assert project_id not in await listed(dev)
    await expect(page.locator(f'tr[data-project="{project_id}"]')).to_have_count(0)


@pytest.mark.timeout(180)
async def test_a_rename_outlives_a_load_read_before_it(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    """The project page reloads on a run's update; an answer read before a
    rename but delivered after it must not bring the old name back."""
    name = f"web rename {uuid.uuid4().hex[:6]}"
    project_id = (
        await dev.graphql(
            "mutation($n: String!) { createProject(project: {name: $n}) { id } }", n=name
        )
    )["createProject"]["id"]
    held: list[Route] = []
    captured, release = asyncio.Event(), asyncio.Event()

    async def hold_one_load(route: Route) -> None:
        if held or "ProjectRuns" not in (route.request.post_data or ""):
            await route.continue_()
            return
        held.append(route)  # before any await: a second load passes
        answer = await route.fetch()  # read by the gateway now, before the rename
        captured.set()
        await release.wait()
        await route.fulfill(response=answer)

    try:
        await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
        await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
        await page.goto(f"{web.url}/projects/{project_id}")
        heading = page.get_by_role("heading", level=1)
        await expect(heading).to_have_text(name, timeout=web.page_ms)
        await page.route("**/graphql", hold_one_load)
        # A run of the project: its update makes the page load the project again.
        document = simulated_pipeline((STEP,), argo_service("http://unused")).to_dict()
        await dev.graphql(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={"projectId": project_id, "placement": "VIRTUAL_NODES", "argoWorkflow": document},
        )
        async with asyncio.timeout(60):
            await captured.wait()

        renamed = f"{name} renamed"
        await page.get_by_role("button", name="Rename…").click()
        await page.get_by_label("New name").fill(renamed)
        await page.get_by_role("button", name="Rename", exact=True).click()
        await expect(heading).to_have_text(renamed, timeout=web.page_ms)

        # The old answer delivered now, and taken in by the page.
        [load] = held
        async with page.expect_event(
            "requestfinished", lambda request: request == load.request, timeout=web.page_ms
        ):
            release.set()
        await page.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))"
        )
        assert await heading.text_content() == renamed
        assert (await listed(dev))[project_id]["name"] == renamed
    finally:
        release.set()
        await page.unroute("**/graphql")
        await dev.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=project_id)
