"""A registry credential added in our web GUI is what lets a dry run
started from the GUI pull a private image (the stack's registry, CNCF
distribution with an htpasswd login, holds an image no node has): the run,
on the real node, Succeeds; the credential is then deleted on its page."""

from __future__ import annotations

import contextlib
import re
import uuid

import pytest
import yaml
from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.components.registry import Registry
from simpipe_devstack.private_image import one_step_run
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

RUN = "query($id: String!) { dryRun(dryRunId: $id) { argoWorkflow status { phase } } }"
CREDENTIALS = "{ dockerRegistryCredentials { name } }"


@pytest.mark.timeout(400)
async def test_a_credential_added_in_the_gui_pulls_a_private_image_for_a_gui_run(
    page: Page,
    web: WebGui,
    real_node: Stack,
    dev: AsyncSimpipe,
    project: str,
    private_image: str,
) -> None:
    name = f"web-pull-{uuid.uuid4().hex[:6]}"
    login = real_node.secrets.registry
    await web.sign_in(page, real_node.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    try:
        await page.goto(f"{web.url}/credentials")
        form = page.locator("form.credential")
        await form.get_by_label("Name", exact=True).fill(name)
        await form.get_by_label("Registry").fill(Registry().address(real_node))
        await form.get_by_label("Username").fill(login["user"])
        await form.get_by_label("Password or access token").fill(login["password"])
        await form.get_by_role("button", name="Add").click()
        await expect(page.locator(f'tr[data-credential="{name}"]')).to_be_visible(
            timeout=web.page_ms
        )

        # A document whose one step's image only the registry has, pulled always.
        await page.goto(f"{web.url}/projects/{project}")
        await page.get_by_label("An Argo Workflow document").check()
        document = one_step_run(real_node, private_image)
        await page.locator("#run-text").fill(yaml.safe_dump(document))
        await page.get_by_label("Nodes").select_option("REAL_NODES")
        await page.get_by_role("button", name="Start the dry run").click()
        await expect(page).to_have_url(re.compile(r"/runs/[^/]+$"), timeout=web.page_ms)
        run_id = page.url.rsplit("/", 1)[1]
        await expect(page.locator("[data-run-phase]")).to_have_attribute(
            "data-run-phase", "Succeeded", timeout=web.run_ms
        )
        run = (await dev.graphql(RUN, id=run_id))["dryRun"]
        [step] = [t for t in run["argoWorkflow"]["spec"]["templates"] if "container" in t]
        assert step["container"]["image"] == private_image
        await web.shot(page, "private-image-run")

        # Deleted on its page: gone from the API's list.
        await page.goto(f"{web.url}/credentials")
        row = page.locator(f'tr[data-credential="{name}"]')
        await row.get_by_role("button", name=f"Delete… {name}").click()
        await row.get_by_role("button", name="Delete", exact=True).click()
        await expect(row).to_have_count(0, timeout=web.page_ms)
        names = [c["name"] for c in (await dev.graphql(CREDENTIALS))["dockerRegistryCredentials"]]
        assert name not in names
    finally:
        with contextlib.suppress(GraphQLError):  # deleted by the test
            await dev.graphql(
                "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }", n=name
            )
