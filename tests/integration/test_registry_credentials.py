"""Registry credentials through the gateway's GraphQL API on the running
stack: stored by the workflow-submitter as dockerconfigjson Secrets where
the runs on real nodes run, never answered with their password, invisible
to another user, and named as imagePullSecrets by their owner's dry runs
on real nodes (and their pods), not by runs on virtual nodes."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from simpipe.v1 import workflow_submitter_pb2 as pb
from simpipe.v1 import workflow_submitter_pb2_grpc
from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.errors import REASON_KEY
from simpipe_common.ownership import owner_hash
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
from simpipe_devstack.stack import Stack

ALICE, BOB = "local-dev", "local-guest"
SECRET_TYPE = "kubernetes.io/dockerconfigjson"
FIELDS = "name username server"
CREATE = f"""mutation($c: DockerRegistryCredentialInput!) {{
  createDockerRegistryCredential(credential: $c) {{ {FIELDS} }} }}"""
UPDATE = f"""mutation($c: DockerRegistryCredentialInput!) {{
  updateDockerRegistryCredential(credential: $c) {{ {FIELDS} }} }}"""
DELETE = "mutation($n: String!) { deleteDockerRegistryCredential(name: $n) }"
LIST = f"{{ dockerRegistryCredentials {{ {FIELDS} }} }}"
CREATE_RUN = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
DELETE_RUN = "mutation($id: String!) { deleteDryRun(dryRunId: $id) }"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def credential(name: str, server: str = "registry.example.org:5000") -> dict[str, str]:
    # A fresh password each time: finding it anywhere it should not be means it leaked.
    return {
        "name": name,
        "username": "robot",
        "password": f"pw-{uuid.uuid4().hex}",
        "server": server,
    }


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[BOB])
    yield gql
    await gql.aclose()


@pytest.fixture
def core(kube: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(kube)


@pytest.fixture
async def made(dev: AsyncSimpipe, guest: AsyncSimpipe) -> AsyncIterator[list[tuple[Any, str]]]:
    """(client, name) of the credentials a test makes: deleted after it."""
    names: list[tuple[Any, str]] = []
    yield names
    for gql, name in names:
        try:
            await gql.graphql(DELETE, n=name)
        except GraphQLError as error:
            if error.codes != ["NOT_FOUND_ERROR"]:  # else the test deleted it itself
                raise


def secrets_of(core: client.CoreV1Api, owner: str, name: str | None = None) -> list[Any]:
    """The Secrets labelled as `owner`'s credential `name`; without a name,
    all of `owner`'s (a user of the stack may hold some from before)."""
    credential = "simpipe.io/registry-credential" + (f"={name}" if name else "")
    selector = f"simpipe.io/owner-hash={owner_hash(owner)},{credential}"
    found: Any = core.list_namespaced_secret(WORKFLOW_NAMESPACE, label_selector=selector)
    return list(found.items)


def auths(secret: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    return dict(config["auths"])


async def codes_of(gql: AsyncSimpipe, query: str, **variables: Any) -> list[str]:
    with pytest.raises(GraphQLError) as refused:
        await gql.graphql(query, **variables)
    return refused.value.codes


async def test_a_credential_is_a_write_only_secret_of_its_owner(
    dev: AsyncSimpipe, guest: AsyncSimpipe, core: client.CoreV1Api, made: list[Any]
) -> None:
    name = unique("my.ghcr")  # dots, as the original GUI allowed
    first = credential(name)
    answers = [await dev.graphql(CREATE, c=first)]
    made.append((dev, name))
    assert answers[0]["createDockerRegistryCredential"] == {
        "name": name, "username": "robot", "server": "registry.example.org:5000",
    }  # fmt: skip
    answers.append(await dev.graphql(LIST))
    assert {"name": name, "username": "robot", "server": "registry.example.org:5000"} in answers[
        -1
    ]["dockerRegistryCredentials"]

    [secret] = secrets_of(core, ALICE, name)
    assert secret.type == SECRET_TYPE
    assert secret.metadata.annotations["simpipe.io/owner"] == ALICE
    token = base64.b64encode(f"robot:{first['password']}".encode()).decode()
    assert auths(secret) == {
        "registry.example.org:5000": {
            "username": "robot", "password": first["password"], "auth": token,
        }
    }  # fmt: skip
    # The password is in the Secret's data, not its name, labels or annotations.
    assert first["password"] not in json.dumps(
        client.ApiClient().sanitize_for_serialization(secret.metadata)
    )

    second = credential(name, server="https://ghcr.io")
    answers.append(await dev.graphql(UPDATE, c=second))
    assert answers[-1]["updateDockerRegistryCredential"]["server"] == "https://ghcr.io"
    [updated] = secrets_of(core, ALICE, name)
    assert updated.metadata.name == secret.metadata.name
    assert auths(updated)["https://ghcr.io"]["password"] == second["password"]
    assert list(auths(updated)) == ["https://ghcr.io"]
    answers.append(await dev.graphql(LIST))

    # No answer carried a password, old or new.
    for password in (first["password"], second["password"]):
        assert password not in json.dumps(answers)
    # A create of a name the caller has is a conflict; an update of one they
    # do not have, missing.
    assert await codes_of(dev, CREATE, c=credential(name)) == ["CONFLICT_ERROR"]
    assert await codes_of(dev, UPDATE, c=credential(unique("none"))) == ["NOT_FOUND_ERROR"]
    assert await codes_of(dev, CREATE, c={**credential("Bad_Name")}) == ["INPUT_VALIDATION_ERROR"]
    assert await codes_of(dev, CREATE, c=credential(unique("x"), server="ftp://x")) == [
        "INPUT_VALIDATION_ERROR"
    ]

    assert await dev.graphql(DELETE, n=name) == {"deleteDockerRegistryCredential": True}
    assert secrets_of(core, ALICE, name) == []
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_secret(secret.metadata.name, WORKFLOW_NAMESPACE)
    assert gone.value.status == 404
    assert name not in json.dumps(await dev.graphql(LIST))


async def test_another_user_can_neither_see_nor_change_a_credential(
    dev: AsyncSimpipe, guest: AsyncSimpipe, core: client.CoreV1Api, made: list[Any]
) -> None:
    name = unique("shared")
    alices = credential(name)
    await dev.graphql(CREATE, c=alices)
    made.append((dev, name))
    assert name not in json.dumps(await guest.graphql(LIST))
    assert await codes_of(guest, UPDATE, c=credential(name)) == ["NOT_FOUND_ERROR"]
    assert await codes_of(guest, DELETE, n=name) == ["NOT_FOUND_ERROR"]
    [secret] = secrets_of(core, ALICE, name)
    assert auths(secret)["registry.example.org:5000"]["password"] == alices["password"]

    # The same name is bob's own credential, in a Secret of its own.
    await guest.graphql(CREATE, c=credential(name))
    made.append((guest, name))
    [bobs] = secrets_of(core, BOB, name)
    assert bobs.metadata.name != secret.metadata.name
    assert [c["name"] for c in (await guest.graphql(LIST))["dockerRegistryCredentials"]].count(
        name
    ) == 1


def run_document(name: str, pull_secret: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "container": {"image": STEP_IMAGE, "command": ["echo", "pulled"]}}
        ],
    }
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": spec,
    }


def first_pod(core: client.CoreV1Api, workflow: str, seconds: int) -> Any:
    """The first pod Argo makes for `workflow`, seen by a watch."""
    stream = watch.Watch()
    try:
        for event in stream.stream(
            core.list_namespaced_pod,
            WORKFLOW_NAMESPACE,
            label_selector=f"workflows.argoproj.io/workflow={workflow}",
            timeout_seconds=seconds,
        ):
            return event["object"]
    finally:
        stream.stop()
    raise AssertionError(f"no pod of {workflow} within {seconds}s")


@pytest.mark.timeout(150)
async def test_a_dry_run_on_real_nodes_pulls_with_all_its_owners_credentials(
    real_node: Stack,
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    core: client.CoreV1Api,
    kube: client.ApiClient,
    made: list[Any],
) -> None:
    names = [unique("reg-a"), unique("reg-b")]
    for name in names:
        await dev.graphql(CREATE, c=credential(name))
        made.append((dev, name))
    bobs_name = unique("reg-bob")
    await guest.graphql(CREATE, c=credential(bobs_name))
    made.append((guest, bobs_name))
    alices = sorted(s.metadata.name for n in names for s in secrets_of(core, ALICE, n))
    [bobs] = [s.metadata.name for s in secrets_of(core, BOB, bobs_name)]
    assert len(alices) == 2

    # Bob's document cannot name alice's Secret (nor can alice's: the
    # service alone adds them).
    for gql in (guest, dev):
        refused = await codes_of(
            gql,
            CREATE_RUN,
            i={"dryRunId": unique("steal"), "argoWorkflow": run_document("x", alices[0])},
        )
        assert refused == ["INVALID_ARGO_WORKFLOW_ERROR"]

    custom = client.CustomObjectsApi(kube)
    real, virtual = unique("pull-real"), unique("pull-virtual")
    runs = {real: "REAL_NODES", virtual: "VIRTUAL_NODES"}
    try:
        for run, placement in runs.items():
            await dev.graphql(
                CREATE_RUN,
                i={"dryRunId": run, "placement": placement, "argoWorkflow": run_document(run)},
            )
        workflow: Any = custom.get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", WORKFLOW_NAMESPACE, "workflows", real
        )
        named = [r["name"] for r in workflow["spec"]["imagePullSecrets"]]
        # All of alice's credentials: these two and any she held before.
        all_alices = sorted(s.metadata.name for s in secrets_of(core, ALICE))
        assert set(alices) <= set(all_alices)
        assert sorted(named) == all_alices
        assert bobs not in named
        pod = await asyncio.to_thread(first_pod, core, real, 60)
        assert sorted(r.name for r in pod.spec.image_pull_secrets) == all_alices
        # A run on virtual nodes pulls nothing and names nothing.
        simulated: Any = custom.get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", virtual
        )
        assert "imagePullSecrets" not in simulated["spec"]
    finally:
        for run in runs:
            try:
                await dev.graphql(DELETE_RUN, id=run)
            except GraphQLError as error:
                if error.codes != ["NOT_FOUND_ERROR"]:
                    raise


@pytest.mark.timeout(150)
async def test_a_run_of_a_template_pulls_with_the_templates_secrets_and_its_owners(
    real_node: Stack, dev: AsyncSimpipe, project: str, core: client.CoreV1Api, made: list[Any]
) -> None:
    """The owner's credentials go on the Workflow, the project's Secrets the
    template names stay on the template: Argo merges the two lists by name
    (neither replaces the other) into the pods."""
    name = unique("reg-tpl")
    await dev.graphql(CREATE, c=credential(name))
    made.append((dev, name))
    [alices] = [s.metadata.name for s in secrets_of(core, ALICE, name)]
    all_alices = [s.metadata.name for s in secrets_of(core, ALICE)]
    template = unique("pull-tpl")
    document = run_document(template, f"simpipe-{project}.own")
    document["kind"] = "WorkflowTemplate"
    await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={"projectId": project, "argoWorkflowTemplate": document},
    )
    run = unique("pull-from-tpl")
    try:
        await dev.graphql(
            "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id } }",
            i={"workflowTemplateName": template, "dryRunId": run, "placement": "REAL_NODES"},
        )
        pod = await asyncio.to_thread(first_pod, core, run, 60)
        assert alices in all_alices
        assert sorted(r.name for r in pod.spec.image_pull_secrets) == sorted(
            [f"simpipe-{project}.own", *all_alices]
        )
    finally:
        try:
            await dev.graphql(DELETE_RUN, id=run)
        except GraphQLError as error:
            if error.codes != ["NOT_FOUND_ERROR"]:
                raise


# The submitter's default SIMPIPE_MAX_REGISTRY_CREDENTIALS, which the stack keeps.
MAX_PER_USER = 50


@pytest.mark.timeout(120)
async def test_a_user_keeps_a_bounded_number_of_credentials(
    submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub, core: client.CoreV1Api
) -> None:
    """Called as the mesh's tests identity for a user of its own, so the
    bound is reached without touching anyone else's credentials."""
    user = unique("quota-user")

    def login(name: str) -> pb.RegistryCredentialRequest:
        return pb.RegistryCredentialRequest(
            caller=user, name=name, server="ghcr.io", username="u", password="p"
        )

    names = [f"c{i}" for i in range(MAX_PER_USER)]
    try:
        await asyncio.gather(*(submitter.CreateRegistryCredential(login(n)) for n in names))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await submitter.CreateRegistryCredential(login("one-more"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert dict(refused.value.trailing_metadata() or ())[REASON_KEY] == "quota-exceeded"
        assert secrets_of(core, user, "one-more") == []
        listed = await submitter.ListRegistryCredentials(
            pb.ListRegistryCredentialsRequest(caller=user)
        )
        assert sorted(c.name for c in listed.credentials) == sorted(names)
        # Deleting one makes room again.
        await submitter.DeleteRegistryCredential(pb.RegistryCredentialRef(caller=user, name="c0"))
        await submitter.CreateRegistryCredential(login("one-more"))
        names[0] = "one-more"
    finally:
        for name in names:
            try:
                await submitter.DeleteRegistryCredential(
                    pb.RegistryCredentialRef(caller=user, name=name)
                )
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
