"""A private image pulled by a dry run with its owner's registry credential:
the stack's registry (CNCF distribution, htpasswd login) holds an image no
node has; a user who stored the login runs it, a user who did not is refused
by the registry, and the step says so."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kubernetes import client, watch

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.registry import Registry
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.private_image import one_step_run
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

RUN_SECONDS = 200
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
PHASE = "query($id: String!) { dryRun(dryRunId: $id) { status { phase } } }"
SAVE = """mutation($c: DockerRegistryCredentialInput!) {
  createDockerRegistryCredential(credential: $c) { name server username } }"""
DELETE = "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }"
STOP = "mutation($id: String!) { stopDryRun(dryRunId: $id, terminate: true) { id } }"
STEPS = """query($id: String!) { dryRun(dryRunId: $id) {
  nodes { ... on DryRunNodePod { message } } } }"""
# The registry refuses at once; the kubelet reports it within its sync.
PULL_SECONDS = 120
# A step's message is not an event (no phase changes): read until it shows.
MESSAGE_SECONDS = 60


def pull_refusal(kube: client.ApiClient, run_id: str) -> str:
    """What the kubelet says when the run's pod cannot pull its image, as
    soon as it says it (a watch of the run's pods)."""
    pods = client.CoreV1Api(kube)
    stream = watch.Watch().stream(
        pods.list_namespaced_pod,
        WORKFLOW_NAMESPACE,
        label_selector=f"workflows.argoproj.io/workflow={run_id}",
        timeout_seconds=PULL_SECONDS,
    )
    for event in stream:
        for status in event["object"].status.container_statuses or []:
            waiting = status.state.waiting
            if waiting is not None and waiting.reason in ("ErrImagePull", "ImagePullBackOff"):
                return str(waiting.message or waiting.reason)
    raise AssertionError(f"no pod of {run_id} reported a refused pull in {PULL_SECONDS} s")


async def step_message(gql: AsyncSimpipe, run_id: str, part: str) -> str:
    """The run's step message once it holds `part`."""
    async with asyncio.timeout(MESSAGE_SECONDS):
        while True:
            nodes = (await gql.graphql(STEPS, id=run_id))["dryRun"]["nodes"] or []
            messages = [n.get("message") or "" for n in nodes]
            found = [m for m in messages if part in m]
            if found:
                return found[0]
            await asyncio.sleep(1)


@pytest.mark.timeout(400)
async def test_a_run_pulls_a_private_image_with_its_owners_credential_and_others_cannot(
    real_node: Stack,
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    private_image: str,
    kube: client.ApiClient,
) -> None:
    registry = Registry().address(real_node)
    login = real_node.secrets.registry
    name = f"private-{uuid.uuid4().hex[:6]}"
    credential = {
        "name": name,
        "server": registry,
        "username": login["user"],
        "password": login["password"],
    }
    await dev.graphql(SAVE, c=credential)
    try:
        document = one_step_run(real_node, private_image)
        created = await dev.graphql(CREATE, i={"argoWorkflow": document, "placement": "REAL_NODES"})
        run = await finished_dry_run(dev, PHASE, created["createDryRun"]["id"], RUN_SECONDS)
        assert run["status"]["phase"] == "Succeeded"

        # The guest stored no login: the registry refuses the pull, and the
        # step says why while the run waits.
        refused = await guest.graphql(
            CREATE, i={"argoWorkflow": document, "placement": "REAL_NODES"}
        )
        refused_id = refused["createDryRun"]["id"]
        try:
            reason = await asyncio.to_thread(pull_refusal, kube, refused_id)
            assert "401 Unauthorized" in reason
            message = await step_message(guest, refused_id, "401 Unauthorized")
            assert private_image in message
        finally:
            await guest.graphql(STOP, id=refused_id)
    finally:
        await dev.graphql(DELETE, n=name)
