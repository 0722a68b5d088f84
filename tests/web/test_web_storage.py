"""Files and registry credentials in our web GUI, in Debian's chromium
against the stack: a bucket made and deleted through the page; a small file
uploaded with one presigned PUT and a big one in parts, each listed with the
size the API says and read back byte for byte from the page's download
link; a file deleted; a registry credential added, replaced and deleted,
its password never in the page; a run started from a project's page given
one of the user's files as its input. Screenshots go to <state>/web-gui/."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import httpx
import pytest
import yaml
from playwright.async_api import Page, expect

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.minio import UPLOADS_BUCKET
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui

MIB = 1024 * 1024
# Above the page's multipart threshold (services/web/src/lib/uploads.ts): three parts.
BIG = 17 * MIB
FILES = "query($b: String!) { artifacts(bucketName: $b) { key size } }"
CREDENTIALS = "{ dockerRegistryCredentials { name server username } }"
UPLOAD = "mutation($k: String!, $b: String!) { computeUploadPresignedUrl(key: $k, bucketName: $b) }"
RUN_ARGUMENTS = "query($id: String!) { dryRun(dryRunId: $id) { argoWorkflow } }"


async def sizes(dev: AsyncSimpipe, bucket: str) -> dict[str, float]:
    return {a["key"]: a["size"] for a in (await dev.graphql(FILES, b=bucket))["artifacts"]}


async def upload(page: Page, web: WebGui, name: str, content: bytes) -> None:
    await page.get_by_label("Upload a file").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": content}
    )
    await expect(page.get_by_label("Its name in the bucket")).to_have_value(name)
    await page.get_by_role("button", name="Upload", exact=True).click()
    await expect(page.locator(f'tr[data-file="{name}"]')).to_have_attribute(
        "data-size", str(len(content)), timeout=web.run_ms
    )


async def downloaded(page: Page, name: str) -> bytes:
    href = await page.locator(f'tr[data-file="{name}"]').get_by_role("link").get_attribute("href")
    assert href
    async with httpx.AsyncClient(timeout=60) as http:
        answer = await http.get(href)
    assert answer.status_code == 200
    return answer.content


@pytest.mark.timeout(300)
async def test_files_go_up_and_come_back_byte_for_byte(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    bucket = f"web-{uuid.uuid4().hex[:8]}"
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Files").click()

    # A name S3 refuses, said; then a good one.
    await page.get_by_label("New bucket").fill("Not_A_Bucket!")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "The bucket could not be created", timeout=web.page_ms
    )
    await page.get_by_label("New bucket").fill(bucket)
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(f"{web.url}/files?bucket={bucket}", timeout=web.page_ms)
    try:
        await expect(page.get_by_role("status")).to_contain_text("No files here yet")
        small, big = os.urandom(3000), os.urandom(BIG)
        await upload(page, web, "small.bin", small)
        await upload(page, web, "big.bin", big)
        assert await sizes(dev, bucket) == {"small.bin": 3000, "big.bin": BIG}
        assert await downloaded(page, "small.bin") == small
        assert await downloaded(page, "big.bin") == big
        await web.shot(page, "files")
        await web.assert_accessible(page)

        row = page.locator('tr[data-file="small.bin"]')
        await row.get_by_role("button", name="Delete… small.bin").click()
        await page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        await expect(row).to_have_count(0, timeout=web.page_ms)
        assert await sizes(dev, bucket) == {"big.bin": BIG}

        await page.get_by_role("button", name="Delete bucket…").click()
        await page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        await expect(page).to_have_url(f"{web.url}/files", timeout=web.page_ms)
        await expect(page.locator(f'li[data-bucket="{bucket}"]')).to_have_count(0)
        listed = await dev.graphql("{ buckets { name } }")
        assert bucket not in [b["name"] for b in listed["buckets"]]
    finally:
        listed = await dev.graphql("{ buckets { name } }")
        if bucket in [b["name"] for b in listed["buckets"]]:
            await dev.graphql(
                "mutation($n: String!) { deleteBucket(name: $n, force: true) }", n=bucket
            )


async def test_a_registry_credential_is_added_replaced_and_deleted(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe
) -> None:
    name = f"web-cred-{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
    await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
    await page.goto(f"{web.url}/credentials")
    try:
        form = page.locator("form.credential")
        # A name the gateway refuses, said.
        await form.get_by_label("Name", exact=True).fill("Not A Name")
        await form.get_by_label("Registry").fill("127.0.0.1:5001")
        await form.get_by_label("Username").fill("someone")
        await form.get_by_label("Password or access token").fill(password)
        await form.get_by_role("button", name="Add").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "The credential could not be added", timeout=web.page_ms
        )

        await form.get_by_label("Name", exact=True).fill(name)
        await form.get_by_label("Password or access token").fill(password)
        await form.get_by_role("button", name="Add").click()
        row = page.locator(f'tr[data-credential="{name}"]')
        await expect(row).to_be_visible(timeout=web.page_ms)
        listed = {
            c["name"]: c for c in (await dev.graphql(CREDENTIALS))["dockerRegistryCredentials"]
        }
        assert listed[name] == {"name": name, "server": "127.0.0.1:5001", "username": "someone"}
        # Write-only: nowhere in the page, not even in the emptied field.
        assert password not in await page.content()
        await expect(form.get_by_label("Password or access token")).to_have_value("")
        await web.shot(page, "credentials")
        await web.assert_accessible(page)

        await row.get_by_role("button", name=f"Replace… {name}").click()
        await form.get_by_label("Username").fill("someone-else")
        await form.get_by_label("Password or access token").fill(password + "2")
        await form.get_by_role("button", name="Replace").click()
        await expect(row.get_by_role("cell").nth(2)).to_have_text(
            "someone-else", timeout=web.page_ms
        )
        listed = {
            c["name"]: c for c in (await dev.graphql(CREDENTIALS))["dockerRegistryCredentials"]
        }
        assert listed[name]["username"] == "someone-else"

        await row.get_by_role("button", name=f"Delete… {name}").click()
        await row.get_by_role("button", name="Delete", exact=True).click()
        await expect(row).to_have_count(0, timeout=web.page_ms)
        listed = {
            c["name"]: c for c in (await dev.graphql(CREDENTIALS))["dockerRegistryCredentials"]
        }
        assert name not in listed
    finally:
        listed = {
            c["name"]: c for c in (await dev.graphql(CREDENTIALS))["dockerRegistryCredentials"]
        }
        if name in listed:
            await dev.graphql(
                "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }", n=name
            )


@pytest.mark.timeout(300)
async def test_a_run_started_in_the_gui_is_given_one_of_the_users_files(
    page: Page, web: WebGui, stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    """The document's entrypoint takes an input artifact; the page offers the
    user's files for it and the run is created with the file picked."""
    key = f"web-inputs/{uuid.uuid4().hex[:8]}/data.csv"
    url = (await dev.graphql(UPLOAD, k=key, b=UPLOADS_BUCKET))["computeUploadPresignedUrl"]
    async with httpx.AsyncClient(timeout=30) as http:
        (await http.put(url, content=b"a,b\n1,2\n")).raise_for_status()
    document: dict[str, Any] = simulated_pipeline(
        (SimulatedStep("work", seconds=2, cpu_millicores=50, memory_mib=8),),
        argo_service("http://unused"),
    ).to_dict()
    [entry] = [
        t for t in document["spec"]["templates"] if t["name"] == document["spec"]["entrypoint"]
    ]
    entry["inputs"] = {"artifacts": [{"name": "data"}]}
    try:
        await web.sign_in(page, stack.secrets.api_tokens["local-dev"])
        await expect(page).to_have_url(f"{web.url}/projects", timeout=web.page_ms)
        await page.goto(f"{web.url}/projects/{project}")
        await page.get_by_label("An Argo Workflow document").check()
        await page.locator("#run-text").fill(yaml.safe_dump(document))
        picker = page.get_by_label("data", exact=True)
        await expect(picker.locator(f'option[value="{UPLOADS_BUCKET}/{key}"]')).to_have_count(
            1, timeout=web.page_ms
        )
        await picker.select_option(f"{UPLOADS_BUCKET}/{key}")
        await page.get_by_label("Nodes").select_option("VIRTUAL_NODES")
        await web.assert_accessible(page)
        await page.get_by_role("button", name="Start the dry run").click()
        await expect(page).to_have_url(re.compile(r"/runs/[^/]+$"), timeout=web.page_ms)
        run_id = page.url.rsplit("/", 1)[1]
        run = (await dev.graphql(RUN_ARGUMENTS, id=run_id))["dryRun"]
        [given] = run["argoWorkflow"]["spec"]["arguments"]["artifacts"]
        assert given["name"] == "data"
        # The key in the user's part of the shared bucket (its owner prefix).
        assert given["s3"]["bucket"] == UPLOADS_BUCKET
        assert given["s3"]["key"].endswith(f"/{key}"), given["s3"]
    finally:
        await dev.graphql(
            "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }",
            b=UPLOADS_BUCKET,
            k=[key],
        )
