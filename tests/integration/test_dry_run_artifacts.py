"""Files of dry runs through the GraphQL API, on the real node: an uploaded
input passed by S3 reference (never copied into the Workflow), and every
step's inputs and outputs listed on it with sizes and download URLs.

The tests that run a step are skipped (with the reason) only where this
machine cannot run containers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.minio import UPLOADS_BUCKET
from simpipe_devstack.example_pipeline import OUTPUT_DIR, RealStep, reading_input
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

INPUT_PATH = "/tmp/input"
INPUT_TEXT = b"hello, sim-pipe\nsecond line\n"
STEP = RealStep(
    "upper",
    f"tr a-z A-Z < {INPUT_PATH} > {OUTPUT_DIR}/upper.txt; echo upper: wrote $(wc -l < {OUTPUT_DIR}/upper.txt) lines",
    output="upper.txt",
)
FILE_FIELDS = "name key bucketName size url"
DRY_RUN = f"""query($id: String!) {{ dryRun(dryRunId: $id) {{ id status {{ phase message }}
  nodes {{ id type displayName ... on DryRunNodePod {{
    inputArtifacts {{ {FILE_FIELDS} }} outputArtifacts {{ {FILE_FIELDS} }} }} }} }} }}"""
RUN_TIMEOUT_SECONDS = 240
CREATE = """mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"""


def delete_pods(stack: Stack, dry_run_id: str) -> None:
    """Deletes the run's pods and waits until they are gone."""
    core = client.CoreV1Api(config.new_client_from_config(str(stack.layout.kubeconfig)))
    selector = f"workflows.argoproj.io/workflow={dry_run_id}"
    core.delete_collection_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector)
    deadline = time.monotonic() + 60
    while core.list_namespaced_pod(WORKFLOW_NAMESPACE, label_selector=selector).items:
        assert time.monotonic() < deadline, "the run's pods outlived their deletion"
        time.sleep(0.2)


def upper_from_input() -> dict[str, Any]:
    """The real-node pipeline of one step that upper-cases the workflow's input
    artifact `input` into its output `upper`, stored as is."""
    return reading_input(STEP, INPUT_PATH)


@pytest.fixture
async def uploaded(dev: AsyncSimpipe) -> AsyncIterator[str]:
    key = f"dry-run-inputs/{uuid.uuid4().hex[:8]}/input.txt"
    url = (
        await dev.graphql(
            "mutation($k: String!, $b: String!) { computeUploadPresignedUrl(key: $k, bucketName: $b) }",
            k=key,
            b=UPLOADS_BUCKET,
        )
    )["computeUploadPresignedUrl"]
    async with httpx.AsyncClient(timeout=30) as http:
        (await http.put(url, content=INPUT_TEXT)).raise_for_status()
    yield key
    await dev.graphql(
        "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }",
        b=UPLOADS_BUCKET,
        k=[key],
    )


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("real_node")
async def test_a_step_reads_an_input_by_reference_and_its_files_are_listed(
    stack: Stack, dev: AsyncSimpipe, uploaded: str
) -> None:
    dry_run_id = f"files-{uuid.uuid4().hex[:8]}"
    await dev.graphql(
        CREATE,
        i={
            "argoWorkflow": upper_from_input(),
            "dryRunId": dry_run_id,
            "inputArtifacts": [{"name": "input", "bucketName": UPLOADS_BUCKET, "key": uploaded}],
        },
    )
    try:
        dry_run = await finished_dry_run(dev, DRY_RUN, dry_run_id, RUN_TIMEOUT_SECONDS)
        assert dry_run["status"]["phase"] == "Succeeded", dry_run["status"]["message"]
        step = next(n for n in dry_run["nodes"] if n["displayName"] == "upper")

        (read,) = step["inputArtifacts"]
        assert (read["name"], read["bucketName"], read["key"]) == (
            "input",
            UPLOADS_BUCKET,
            uploaded,
        )
        assert read["size"] == len(INPUT_TEXT)

        written = {a["name"]: a for a in step["outputArtifacts"]}
        assert set(written) == {"upper", "main-logs"}
        assert all(a["bucketName"] == ARTIFACT_BUCKET and a["size"] for a in written.values())
        async with httpx.AsyncClient(timeout=30) as http:
            output = await http.get(written["upper"]["url"])
            log = await http.get(written["main-logs"]["url"])
        assert output.content == INPUT_TEXT.upper()
        assert written["upper"]["size"] == len(INPUT_TEXT)
        assert "upper: wrote 2 lines" in log.text
        # Grouping nodes list no files of their own.
        assert all("inputArtifacts" not in n for n in dry_run["nodes"] if n["type"] != "Pod")
        # The original's fileSize: the bytes of the step's input files, read in S3.
        aggregated = (
            await dev.graphql(
                """query($id: String!) { getAggregatedNodesMetrics(dryRunIds: [$id]) {
                  nodeName data { fileSize } } }""",
                id=dry_run_id,
            )
        )["getAggregatedNodesMetrics"]
        sizes = {n["nodeName"]: n["data"]["fileSize"] for n in aggregated}
        assert sizes["upper"] == [float(len(INPUT_TEXT))]
        # Once its pod is gone, the step's log comes from the archive: the
        # run's own project credentials, which Argo reads with the watcher's token.
        await asyncio.to_thread(delete_pods, stack, dry_run_id)
        logged = await dev.graphql(
            """query($id: String!, $n: String!) { dryRun(dryRunId: $id) {
              node(id: $n) { ... on DryRunNodePod { log } } } }""",
            id=dry_run_id,
            n=step["id"],
        )
        assert "upper: wrote 2 lines" in logged["dryRun"]["node"]["log"]
    finally:
        await dev.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=dry_run_id)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("real_node")
async def test_a_dry_run_from_a_template_reads_an_input_by_reference(
    dev: AsyncSimpipe, uploaded: str, project: str
) -> None:
    # Deleting the project (the fixture does) deletes its runs and templates.
    template = upper_from_input()
    template["kind"] = "WorkflowTemplate"
    template["metadata"] = {"name": f"upper-{uuid.uuid4().hex[:8]}"}
    await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={"projectId": project, "argoWorkflowTemplate": template},
    )
    created = await dev.graphql(
        "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id } }",
        i={
            "projectId": project,
            "workflowTemplateName": template["metadata"]["name"],
            "inputArtifacts": [{"name": "input", "bucketName": UPLOADS_BUCKET, "key": uploaded}],
        },
    )
    run_id = created["createDryRunFromTemplate"]["id"]
    dry_run = await finished_dry_run(dev, DRY_RUN, run_id, RUN_TIMEOUT_SECONDS)
    assert dry_run["status"]["phase"] == "Succeeded", dry_run["status"]["message"]
    step = next(n for n in dry_run["nodes"] if n["displayName"] == "upper")
    assert [(a["bucketName"], a["key"]) for a in step["inputArtifacts"]] == [
        (UPLOADS_BUCKET, uploaded)
    ]
    upper = next(a for a in step["outputArtifacts"] if a["name"] == "upper")
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(upper["url"])).content == INPUT_TEXT.upper()


@pytest.mark.parametrize(
    ("bucket", "key", "words"),
    [
        (UPLOADS_BUCKET, "../escape.txt", "'..' path segments"),
        (UPLOADS_BUCKET, "/absolute.txt", "relative"),
        ("Not_A_Bucket", "input.txt", "bucket name"),
    ],
)
async def test_a_bad_input_reference_is_refused_and_nothing_is_created(
    dev: AsyncSimpipe, bucket: str, key: str, words: str
) -> None:
    dry_run_id = f"files-bad-{uuid.uuid4().hex[:8]}"
    with pytest.raises(GraphQLError) as refused:
        await dev.graphql(
            CREATE,
            i={
                "argoWorkflow": upper_from_input(),
                "dryRunId": dry_run_id,
                "inputArtifacts": [{"name": "input", "bucketName": bucket, "key": key}],
            },
        )
    assert refused.value.errors[0]["extensions"]["code"] == "INPUT_VALIDATION_ERROR"
    assert words in refused.value.errors[0]["message"]
    with pytest.raises(GraphQLError) as missing:
        await dev.graphql(DRY_RUN, id=dry_run_id)
    assert missing.value.errors[0]["extensions"]["code"] == "NOT_FOUND_ERROR"
