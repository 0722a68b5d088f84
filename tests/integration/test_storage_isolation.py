"""Storage per user on the real stack, tried as a second user would: through
the gateway's GraphQL API, over WebDAV (SFTPGo), and from a dry run's step
with the S3 credentials its project gets.

- local-guest neither lists, reads, presigns, overwrites nor deletes what
  local-dev has: their buckets, their uploads in the shared upload bucket;
- nobody creates or deletes the system's buckets, the shared ones included;
- a project's credentials (the Secret its steps get) read and write the
  project's files only: not the owner's other projects', not another
  user's, and they stop working when the project is deleted;
- a step reads its own project's file, and fails on another project's.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from kubernetes import client, config

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.ownership import owner_hash
from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.minio import REGION, SYSTEM_BUCKETS, UPLOADS_BUCKET, s3_client
from simpipe_devstack.example_pipeline import (
    OUTPUT_DIR,
    RealStep,
    SimulatedStep,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack
from simpipe_workflow_submitter.project_storage import secret_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEV, GUEST = "local-dev", "local-guest"
UPLOAD_URL = (
    "mutation($k: String, $b: String) { computeUploadPresignedUrl(key: $k, bucketName: $b) }"
)
LIST = "query($b: String) { artifacts(bucketName: $b) { key url size } }"
STAT = "query($b: String!, $k: String!) { artifact(bucketName: $b, key: $k) { size } }"
DELETE = "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }"
DELETE_BUCKET = "mutation($n: String!, $f: Boolean) { deleteBucket(name: $n, force: $f) }"
CREATE_BUCKET = "mutation($n: String!) { createBucket(name: $n) }"
CREATE_RUN = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
DELETE_RUN = "mutation($id: String!) { deleteDryRun(dryRunId: $id) }"
RUN = """query($id: String!) { dryRun(dryRunId: $id) { id status { phase message }
  nodes { displayName phase message } } }"""
RUN_TIMEOUT_SECONDS = 240


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def error_code(gql: AsyncSimpipe, query: str, **variables: object) -> str:
    with pytest.raises(GraphQLError) as caught:
        await gql.graphql(query, **variables)
    (code,) = caught.value.codes
    return str(code)


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[GUEST])
    yield gql
    await gql.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30.0) as http_client:
        yield http_client


@pytest.fixture
def root_s3(stack: Stack) -> S3Client:
    """MinIO as its root user: to look at what really is in S3."""
    return s3_client(stack)


async def upload(
    gql: AsyncSimpipe, http: httpx.AsyncClient, key: str, data: bytes, bucket: str | None = None
) -> None:
    url = (await gql.graphql(UPLOAD_URL, k=key, b=bucket))["computeUploadPresignedUrl"]
    assert (await http.put(url, content=data)).status_code == 200


async def listed(gql: AsyncSimpipe, bucket: str | None = None) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in (await gql.graphql(LIST, b=bucket))["artifacts"]}


@pytest.fixture
async def devs_bucket(dev: AsyncSimpipe, http: httpx.AsyncClient) -> AsyncIterator[str]:
    """A bucket of local-dev's holding one file, `secret.txt`."""
    name = unique("iso")
    await dev.graphql(CREATE_BUCKET, n=name)
    await upload(dev, http, "secret.txt", b"local-dev's", name)
    yield name
    await dev.graphql(DELETE_BUCKET, n=name, f=True)


async def test_another_users_bucket_does_not_exist_for_any_call(
    dev: AsyncSimpipe, guest: AsyncSimpipe, http: httpx.AsyncClient, devs_bucket: str
) -> None:
    assert devs_bucket in [
        b["name"] for b in (await dev.graphql("{ buckets { name } }"))["buckets"]
    ]
    guests = [b["name"] for b in (await guest.graphql("{ buckets { name } }"))["buckets"]]
    assert devs_bucket not in guests

    calls: list[tuple[str, dict[str, object]]] = [
        (LIST, {"b": devs_bucket}),
        (STAT, {"b": devs_bucket, "k": "secret.txt"}),
        (UPLOAD_URL, {"b": devs_bucket, "k": "secret.txt"}),
        (DELETE, {"b": devs_bucket, "k": ["secret.txt"]}),
        (DELETE_BUCKET, {"n": devs_bucket, "f": True}),
        (DELETE_BUCKET, {"n": devs_bucket, "f": False}),
    ]
    for query, variables in calls:
        assert await error_code(guest, query, **variables) == "NOT_FOUND_ERROR", query
    # S3 bucket names are global: the name is taken, whose it is is not said.
    assert await error_code(guest, CREATE_BUCKET, n=devs_bucket) == "CONFLICT_ERROR"

    # local-dev's file is untouched.
    (secret,) = (await listed(dev, devs_bucket)).values()
    assert (await http.get(secret["url"])).content == b"local-dev's"


async def test_uploads_of_one_user_are_another_users_nothing(
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    http: httpx.AsyncClient,
    root_s3: S3Client,
) -> None:
    key = f"isolation/{uuid.uuid4().hex[:10]}.txt"
    await upload(dev, http, key, b"local-dev's upload")
    try:
        # In S3 it is below local-dev's prefix; nobody sees the prefix.
        stored = f"{owner_hash(DEV)}/{key}"
        assert root_s3.get_object(Bucket=UPLOADS_BUCKET, Key=stored)["Body"].read() == (
            b"local-dev's upload"
        )
        devs = await listed(dev)
        assert key in devs
        assert all(not k.startswith(owner_hash(DEV)) for k in devs)

        # local-guest sees none of local-dev's uploads, however many there are.
        guests = await listed(guest, UPLOADS_BUCKET)
        assert not set(guests) & set(devs)
        stat = {"b": UPLOADS_BUCKET, "k": key}
        assert await error_code(guest, STAT, **stat) == "NOT_FOUND_ERROR"
        # Naming local-dev's prefix reaches nothing of theirs either.
        assert await error_code(guest, STAT, b=UPLOADS_BUCKET, k=stored) == "NOT_FOUND_ERROR"

        # The same key is local-guest's own file: writing and deleting it
        # leaves local-dev's alone.
        await upload(guest, http, key, b"local-guest's", UPLOADS_BUCKET)
        assert (await guest.graphql(DELETE, b=UPLOADS_BUCKET, k=[key, stored])) == {
            "deleteArtifacts": True
        }
        assert (await http.get((await listed(dev))[key]["url"])).content == b"local-dev's upload"
    finally:
        await dev.graphql(DELETE, b=UPLOADS_BUCKET, k=[key])


@pytest.mark.parametrize("bucket", [UPLOADS_BUCKET, *SYSTEM_BUCKETS])
async def test_nobody_creates_or_deletes_the_systems_buckets(
    dev: AsyncSimpipe, guest: AsyncSimpipe, root_s3: S3Client, bucket: str
) -> None:
    for gql in (dev, guest):
        for force in (False, True):
            assert await error_code(gql, DELETE_BUCKET, n=bucket, f=force) == "FORBIDDEN"
        assert await error_code(gql, CREATE_BUCKET, n=bucket) == "FORBIDDEN"
    root_s3.head_bucket(Bucket=bucket)  # still there


async def test_the_sftp_user_sees_local_devs_uploads_only(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    http: httpx.AsyncClient,
) -> None:
    """SFTPGo's user is local-dev's face over SFTP and WebDAV (same
    filesystem for both): local-guest's uploads are not there."""
    auth = (stack.secrets.sftpgo["user"], stack.secrets.sftpgo["password"])
    webdav = endpoints["webdav"]
    key = f"isolation-{uuid.uuid4().hex[:10]}.txt"
    await upload(guest, http, key, b"local-guest's")
    await upload(dev, http, f"{key}.dev", b"local-dev's")
    try:
        assert (await http.get(f"{webdav}/{key}.dev", auth=auth)).content == b"local-dev's"
        assert (await http.get(f"{webdav}/{key}", auth=auth)).status_code == 404
        climbed = f"{webdav}/{owner_hash(GUEST)}/{key}"
        assert (await http.get(climbed, auth=auth)).status_code == 404
        # What the SFTPGo user puts is local-dev's, not local-guest's.
        put = await http.put(f"{webdav}/{key}.sftp", content=b"over webdav", auth=auth)
        assert put.status_code in (201, 204), put.text
        assert f"{key}.sftp" in await listed(dev)
        assert f"{key}.sftp" not in await listed(guest)
    finally:
        await guest.graphql(DELETE, b=UPLOADS_BUCKET, k=[key])
        await dev.graphql(DELETE, b=UPLOADS_BUCKET, k=[f"{key}.dev", f"{key}.sftp"])


# A project's credentials


def core_api(stack: Stack) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(stack.layout.kubeconfig)))


def init_log(stack: Stack, run_id: str) -> str:
    """The log of Argo's `init` container (it loads the input artifacts) of
    the run's pods."""
    core = core_api(stack)
    pods = core.list_namespaced_pod(
        WORKFLOW_NAMESPACE, label_selector=f"workflows.argoproj.io/workflow={run_id}"
    ).items
    return "\n".join(
        str(core.read_namespaced_pod_log(str(name), WORKFLOW_NAMESPACE, container="init"))
        for name in (pod.metadata.name for pod in pods if pod.metadata)
    )


def project_keys(stack: Stack, project_id: str) -> tuple[str, str] | None:
    """The access and secret key of the project's Secret, if it has one in
    either run namespace (it is made where the project's runs are)."""
    name = secret_name(DEV, project_id)
    for namespace in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE):
        try:
            secret = core_api(stack).read_namespaced_secret(name, namespace)
        except client.exceptions.ApiException as error:
            if error.status == 404:
                continue
            raise
        data = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
        return data["accesskey"], data["secretkey"]
    return None


def s3_as(endpoints: dict[str, str], keys: tuple[str, str]) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=endpoints["s3"],
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def refusal(call: Callable[[], object]) -> str:
    """S3's error code of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


async def create_project(gql: AsyncSimpipe) -> str:
    created = await gql.graphql(
        "mutation($n: String!) { createProject(project: {name: $n}) { id } }", n="Isolation"
    )
    project_id: str = created["createProject"]["id"]
    return project_id


async def delete_projects(gql: AsyncSimpipe, *project_ids: str) -> None:
    """Deletes them; one already gone is fine (cleaning up after a failure)."""
    for project_id in project_ids:
        with suppress(GraphQLError):
            await gql.graphql(
                "mutation($p: String!) { deleteProject(projectId: $p) }", p=project_id
            )


def one_virtual_step() -> dict[str, Any]:
    document: dict[str, Any] = simulated_pipeline(
        (SimulatedStep("noop", seconds=1, cpu_millicores=10, memory_mib=8),),
        argo_service("http://unused"),
    ).to_dict()
    return document


async def start_and_delete_a_run(gql: AsyncSimpipe, project_id: str) -> None:
    """A dry run of the project on virtual nodes, deleted at once: what it
    leaves is its project's Secret and artifact repository."""
    run = await gql.graphql(
        CREATE_RUN,
        i={
            "projectId": project_id,
            "argoWorkflow": one_virtual_step(),
            "placement": "VIRTUAL_NODES",
        },
    )
    await gql.graphql(DELETE_RUN, id=run["createDryRun"]["id"])


@pytest.mark.timeout(120)
async def test_a_projects_credentials_reach_its_own_files_only(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    http: httpx.AsyncClient,
    root_s3: S3Client,
) -> None:
    project, others = await create_project(dev), await create_project(dev)
    guests_project = await create_project(guest)
    mine, guests = owner_hash(DEV), owner_hash(GUEST)
    (reports,) = set(SYSTEM_BUCKETS) - {ARTIFACT_BUCKET}
    try:
        await start_and_delete_a_run(dev, project)
        keys = project_keys(stack, project)
        assert keys is not None
        assert keys[0] != stack.secrets.s3_access_key
        steps = s3_as(endpoints, keys)

        own_file = f"{mine}/{project}/run/pod/out.txt"
        steps.put_object(Bucket=ARTIFACT_BUCKET, Key=own_file, Body=b"written by a step")
        own = steps.get_object(Bucket=ARTIFACT_BUCKET, Key=own_file)
        assert own["Body"].read() == b"written by a step"
        await upload(dev, http, "isolation-input.txt", b"an input")
        uploaded = steps.get_object(Bucket=UPLOADS_BUCKET, Key=f"{mine}/isolation-input.txt")
        assert uploaded["Body"].read() == b"an input"

        # Files of the owner's other project and another user's.
        root_s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{mine}/{others}/run/x", Body=b"x")
        root_s3.put_object(
            Bucket=ARTIFACT_BUCKET, Key=f"{guests}/{guests_project}/run/x", Body=b"x"
        )
        await upload(guest, http, "isolation-input.txt", b"the guest's input")
        for bucket, key in [
            (ARTIFACT_BUCKET, f"{mine}/{others}/run/x"),
            (ARTIFACT_BUCKET, f"{guests}/{guests_project}/run/x"),
            (UPLOADS_BUCKET, f"{guests}/isolation-input.txt"),
        ]:
            assert refusal(partial(steps.get_object, Bucket=bucket, Key=key)) == "AccessDenied", key
        for write in [
            lambda: steps.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{mine}/{others}/y", Body=b"y"),
            lambda: steps.put_object(Bucket=UPLOADS_BUCKET, Key=f"{mine}/y", Body=b"y"),
            lambda: steps.put_object(Bucket=reports, Key="y", Body=b"y"),
            lambda: steps.list_objects_v2(Bucket=ARTIFACT_BUCKET),
            lambda: steps.list_objects_v2(Bucket=UPLOADS_BUCKET, Prefix=f"{guests}/"),
            lambda: steps.delete_bucket(Bucket=UPLOADS_BUCKET),
            lambda: steps.create_bucket(Bucket=unique("steps")),
        ]:
            assert refusal(write) == "AccessDenied"

        # Deleting the project takes its credentials and its Secret.
        await delete_projects(dev, project)
        assert project_keys(stack, project) is None
        gone = refusal(lambda: steps.get_object(Bucket=ARTIFACT_BUCKET, Key=own_file))
        assert gone == "InvalidAccessKeyId"
    finally:
        await dev.graphql(DELETE, b=UPLOADS_BUCKET, k=["isolation-input.txt"])
        await guest.graphql(DELETE, b=UPLOADS_BUCKET, k=["isolation-input.txt"])
        await delete_projects(dev, project, others)
        await delete_projects(guest, guests_project)


async def test_a_dry_run_cannot_take_its_input_from_another_users_bucket(
    dev: AsyncSimpipe, guest: AsyncSimpipe, http: httpx.AsyncClient, devs_bucket: str
) -> None:
    """Refused as if the bucket did not exist, before anything is made."""
    run_id = unique("iso-input")
    code = await error_code(
        guest,
        CREATE_RUN,
        i={
            "dryRunId": run_id,
            "argoWorkflow": one_virtual_step(),
            "placement": "VIRTUAL_NODES",
            "inputArtifacts": [{"name": "input", "bucketName": devs_bucket, "key": "secret.txt"}],
        },
    )
    assert code == "NOT_FOUND_ERROR"
    assert await error_code(guest, RUN, id=run_id) == "NOT_FOUND_ERROR"
    assert await error_code(dev, RUN, id=run_id) == "NOT_FOUND_ERROR"


# A step, with its project's credentials

INPUT_PATH = "/tmp/input"


def reads_input() -> dict[str, Any]:
    """A one-step pipeline for the real node that copies the workflow's
    input artifact `input` to its output `copy`."""
    step = RealStep(
        "copy", f"cp {INPUT_PATH} {OUTPUT_DIR}/copy.txt; echo copied", output="copy.txt"
    )
    workflow: dict[str, Any] = real_pipeline((step,), argo_service("http://unused")).to_dict()
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    templates["pipeline"]["inputs"] = {"artifacts": [{"name": "input"}]}
    templates["pipeline"]["steps"][0][0]["arguments"] = {
        "artifacts": [{"name": "input", "from": "{{inputs.artifacts.input}}"}]
    }
    templates["copy"]["inputs"] = {"artifacts": [{"name": "input", "path": INPUT_PATH}]}
    return workflow


@pytest.mark.timeout(360)
@pytest.mark.usefixtures("real_node")
async def test_a_step_reads_its_projects_file_and_fails_on_another_projects(
    stack: Stack, dev: AsyncSimpipe, root_s3: S3Client, project: str
) -> None:
    """The same step twice in one project: reading the project's own file
    (written where its runs write) succeeds; reading a file of the owner's
    other project fails, as the project's credentials cannot read it."""
    others = await create_project(dev)
    mine = owner_hash(DEV)
    own, foreign = f"{project}/inputs/own.txt", f"{others}/inputs/other.txt"
    root_s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{mine}/{own}", Body=b"the project's own")
    root_s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{mine}/{foreign}", Body=b"another project's")
    runs = {}
    try:
        for label, key in (("own", own), ("foreign", foreign)):
            created = await dev.graphql(
                CREATE_RUN,
                i={
                    "projectId": project,
                    "dryRunId": unique(f"iso-{label}"),
                    "argoWorkflow": reads_input(),
                    "inputArtifacts": [
                        {"name": "input", "bucketName": ARTIFACT_BUCKET, "key": key}
                    ],
                },
            )
            runs[label] = created["createDryRun"]["id"]
        finished = dict(
            zip(
                runs,
                await asyncio.gather(
                    *(finished_dry_run(dev, RUN, r, RUN_TIMEOUT_SECONDS) for r in runs.values())
                ),
                strict=True,
            )
        )
        assert finished["own"]["status"]["phase"] == "Succeeded", finished["own"]["status"]
        copied = root_s3.list_objects_v2(
            Bucket=ARTIFACT_BUCKET, Prefix=f"{mine}/{project}/{runs['own']}/"
        )
        assert any(o["Key"].endswith("copy.tgz") for o in copied.get("Contents", [])), copied

        refused = finished["foreign"]
        assert refused["status"]["phase"] in ("Failed", "Error"), refused["status"]
        (step,) = [n for n in refused["nodes"] if n["displayName"] == "copy"]
        assert step["phase"] in ("Failed", "Error")
        # Argo says only that the pod did not initialize; its executor's
        # log (read before the pod is collected) says S3 denied the read.
        said = init_log(stack, runs["foreign"])
        assert "AccessDenied" in said or "Access Denied" in said, said
        nothing = root_s3.list_objects_v2(
            Bucket=ARTIFACT_BUCKET, Prefix=f"{mine}/{project}/{runs['foreign']}/"
        )
        assert not any(o["Key"].endswith("copy.tgz") for o in nothing.get("Contents", []))
    finally:
        for run_id in runs.values():
            await dev.graphql(DELETE_RUN, id=run_id)
        await delete_projects(dev, others)
