"""The original SIM-PIPE GUI (DataCloud-project/SIM-PIPE, frontend/ at
e2f5bf4), driven in Debian's chromium against this stack's gateway: the
pages a user goes through, each checked against what the API says.

Not part of `make test`: the original GUI is another project's code, built
outside this repository. Serve a build of it whose VITE_SIM_PIPE_CONTROLLER_URL
is this stack's gateway, with VITE_KEYCLOAK_ENABLED=true, on the origin the
stack allows (http://127.0.0.1:4173), then `make original-gui-check`. The
GUI's session is given a local-dev API token the way its Keycloak login
leaves one (sessionStorage), so every request carries a real credential.
Screenshots go to <state>/original-gui/."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.kubelet import REAL_NODE_NAME
from simpipe_devstack.demo import example_document
from simpipe_devstack.example_pipeline import EXAMPLE_REAL_STEPS
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

# Conditions a page reaches within these, or the check fails.
PAGE_MS = 30_000
RUN_SECONDS = 240
# What the example's steps print (simpipe_devstack.example_pipeline).
EXPECTED_LOGS = {
    "pre-process": "pre-process: wrote 100000 records",
    "process": "process: sum 5000050000",
    "analyse": "analyse: the sum was 5000050000",
}


@pytest.fixture(scope="session")
def gui_url() -> str:
    url = os.environ.get("SIMPIPE_ORIGINAL_GUI_URL", "")
    if not url:
        pytest.fail("set SIMPIPE_ORIGINAL_GUI_URL to where the original GUI is served")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def shots(stack: Stack) -> Path:
    path = stack.layout.state / "original-gui"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> Page:
    """A page whose session holds local-dev's token as the GUI's Keycloak login would."""
    token = stack.secrets.api_tokens["local-dev"]
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.add_init_script(
        f"""sessionStorage.setItem('keycloak-token', {json.dumps(token)});
        sessionStorage.setItem('keycloak-exp', String(Math.floor(Date.now() / 1000) + 3600));
        sessionStorage.setItem('keycloak-username', 'local-dev');"""
    )
    return page


def example_template(stack: Stack, directory: Path) -> Path:
    """The real example pipeline as a WorkflowTemplate file, as a user uploads one."""
    document, _ = example_document(stack)
    document["kind"] = "WorkflowTemplate"
    document["metadata"] = {"name": "gui-example"}
    path = directory / "gui-example.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


STEPS = """query($id: String!) { dryRun(dryRunId: $id) { status { phase } nodeName
  nodes { ... on DryRunNodePod { displayName duration } } } }"""


async def test_a_project_from_a_template_upload_runs_and_its_run_page_shows_it(
    page: Page, gui_url: str, shots: Path, dev: AsyncSimpipe, real_node: Stack
) -> None:
    name = f"GUI check {uuid.uuid4().hex[:6]}"
    await page.goto(f"{gui_url}/projects")
    await page.get_by_role("button", name="Create").click()
    form = page.locator(".modal-example-form")
    await form.get_by_placeholder("Enter name...").fill(name)
    await form.locator("input[type=file]").set_input_files(example_template(real_node, shots))
    await form.get_by_role("button", name="Submit").click()
    project_row = page.get_by_role("row").filter(has_text=name)
    await expect(project_row).to_be_visible(timeout=PAGE_MS)
    await page.screenshot(path=shots / "1-projects.png")

    await project_row.click()
    await expect(page.get_by_text("dry runs: 0")).to_be_visible(timeout=PAGE_MS)
    runs_url = page.url
    await page.get_by_role("button", name="Create").click()
    dialog = page.locator(".modal-dry-run")
    # The dialog lists the template's steps, numbered.
    for number, step in enumerate(EXPECTED_LOGS, start=1):
        await expect(dialog.get_by_text(f"{number}. {step}", exact=True)).to_be_visible()
    await page.screenshot(path=shots / "2-start-dry-run.png")
    await dialog.get_by_role("button", name="Submit").click()
    created = page.get_by_text(re.compile("New dry run ID: ")).first
    await expect(created).to_be_visible(timeout=PAGE_MS)
    run_id = (await created.inner_text()).split("New dry run ID: ")[1].strip()

    run = await finished_dry_run(dev, STEPS, run_id, RUN_SECONDS)
    assert run["status"]["phase"] == "Succeeded"
    assert run["nodeName"] == REAL_NODE_NAME
    await page.goto(runs_url)
    run_row = page.get_by_role("row").filter(has_text=run_id)
    await expect(run_row).to_contain_text(REAL_NODE_NAME, timeout=PAGE_MS)
    await page.screenshot(path=shots / "3-dry-runs.png")

    await run_row.click()
    table = page.locator("table").filter(has_text="Duration").first
    for step in run["nodes"]:
        if not step:
            continue
        cell = page.get_by_role("cell", name=step["displayName"], exact=True)
        row = table.get_by_role("row").filter(has=cell)
        await expect(row).to_contain_text(str(step["duration"]), timeout=PAGE_MS)
        await expect(row).to_contain_text("Succeeded")
    # The DAG: one box per step, in a rendered mermaid graph.
    for step in EXPECTED_LOGS:
        await expect(page.locator("svg").get_by_text(step, exact=True).first).to_be_visible()
    for line in EXPECTED_LOGS.values():
        await expect(page.get_by_text(line).first).to_be_visible(timeout=PAGE_MS)
    # The plots drew the steps' series (a line per step, with points).
    await expect(page.locator(".js-plotly-plot .scatterlayer .trace").first).to_be_attached(
        timeout=PAGE_MS
    )
    await page.screenshot(path=shots / "4-run-page.png", full_page=True)
    assert sorted(s.name for s in EXAMPLE_REAL_STEPS) == sorted(EXPECTED_LOGS)


async def test_a_file_uploaded_in_the_artifact_browser_is_listed_and_stored(
    page: Page, gui_url: str, shots: Path, dev: AsyncSimpipe
) -> None:
    import httpx

    name = f"gui-upload-{uuid.uuid4().hex[:6]}.txt"
    content = b"written through the original GUI\n" * 64
    local = shots / name
    local.write_bytes(content)
    await page.goto(f"{gui_url}/artifacts")
    await expect(page.get_by_text("simpipe-uploads")).to_be_visible(timeout=PAGE_MS)
    await page.get_by_title("Upload Artifact").click()
    modal = page.locator(".modal-upload-files")
    await modal.locator("input[type=file]").set_input_files(local)
    await modal.get_by_role("button", name="Upload").click()
    await expect(page.get_by_text(f"Successfully uploaded file: {name}")).to_be_visible(
        timeout=PAGE_MS
    )
    await page.reload()
    await page.get_by_text("simpipe-uploads").dblclick()
    await expect(page.get_by_text(name, exact=True)).to_be_visible(timeout=PAGE_MS)
    await page.screenshot(path=shots / "5-artifacts.png")

    listed = await dev.graphql("{ artifacts { name url } }")
    [stored] = [a for a in listed["artifacts"] if a["name"] == name]
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(stored["url"])).content == content


async def test_a_registry_credential_made_on_the_registry_page_is_listed_without_password(
    page: Page, gui_url: str, shots: Path, dev: AsyncSimpipe
) -> None:
    name = f"gui-registry-{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    await page.goto(f"{gui_url}/secrets")
    await page.get_by_role("button", name="Create").click()
    form = page.locator(".modal-example-form")
    await form.get_by_placeholder("image-registry-secret").fill(name)
    await form.get_by_placeholder("username...").fill("gui-user")
    await form.get_by_placeholder("https://image-registry.server.com:5000").fill(
        "registry.example.org:5000"
    )
    await form.get_by_placeholder("Enter password...").fill(password)
    await form.get_by_role("button", name="Submit").click()
    row = page.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("gui-user", timeout=PAGE_MS)
    await expect(row).to_contain_text("registry.example.org:5000")
    await page.screenshot(path=shots / "6-registry.png")
    assert password not in await page.content()
    try:
        listed = (await dev.graphql("{ dockerRegistryCredentials { name username server } }"))[
            "dockerRegistryCredentials"
        ]
        assert {
            "name": name,
            "username": "gui-user",
            "server": "registry.example.org:5000",
        } in listed
    finally:
        await dev.graphql(
            "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }", n=name
        )
