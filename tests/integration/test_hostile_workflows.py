"""Hostile workflows through the GraphQL API, on the running stack: each
escape of issue 14 (privileged host mounts, any service account, any
Secret, reserved buckets, other users' templates, claimed ownership, pod
spec patches, placement written into the document) tried by the stack's
second user, local-guest, refused with its GraphQL error code by the
workflow-submitter's policy, and nothing of it written to the cluster."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_OWNER_HASH, LABEL_PROJECT, owner_hash
from simpipe_devstack.components.argo import ARTIFACT_BUCKET
from simpipe_devstack.components.minio import SYSTEM_BUCKETS
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.stack import Stack

# A run may be in either (runs on virtual nodes have their own): a leak is looked for in both.
RUN_NAMESPACES = (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE)

GUEST, DEV = "local-guest", "local-dev"
STEP = SimulatedStep("step", seconds=1, cpu_millicores=100, memory_mib=16)
CREATE_DRY_RUN = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
FROM_TEMPLATE = (
    "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id } }"
)
CREATE_TEMPLATE = (
    "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }"
)
INVALID_WORKFLOW = "INVALID_ARGO_WORKFLOW_ERROR"
INVALID_TEMPLATE = "INVALID_ARGO_WORKFLOW_TEMPLATE_ERROR"
ROOT_KEYS = {"name": "argo-s3", "key": "secretkey"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pipeline() -> dict[str, Any]:
    built: dict[str, Any] = simulated_pipeline((STEP,), argo_service("http://unused")).to_dict()
    return built


def step(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in document["spec"]["templates"] if "container" in t)
    return found


def first_step(document: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's first step (of its steps template)."""
    found: dict[str, Any] = next(t for t in document["spec"]["templates"] if "steps" in t)
    first: dict[str, Any] = found["steps"][0][0]
    return first


def privileged_host_root(d: dict[str, Any]) -> None:
    d["spec"]["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    step(d)["container"]["securityContext"] = {"privileged": True, "runAsUser": 0}
    step(d)["container"]["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]


def root_keys_in_the_environment(d: dict[str, Any]) -> None:
    step(d)["container"]["env"] = [{"name": "K", "valueFrom": {"secretKeyRef": ROOT_KEYS}}]


def reserved_bucket_output(d: dict[str, Any]) -> None:
    s3 = {"bucket": SYSTEM_BUCKETS[-1], "key": "planted.json"}
    step(d)["outputs"] = {"artifacts": [{"name": "o", "path": "/tmp/o", "s3": s3}]}


def another_owner(d: dict[str, Any]) -> None:
    d["spec"]["workflowMetadata"] = {"labels": {LABEL_OWNER_HASH: owner_hash(DEV)}}


def another_project(d: dict[str, Any]) -> None:
    d["spec"]["podMetadata"] = {"annotations": {ANNOTATION_OWNER: DEV}}
    step(d)["metadata"]["labels"] = {LABEL_PROJECT: "someone-elses"}


# (escape, how a document tries it, the field path the refusal names)
ESCAPES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("privileged hostPath /", privileged_host_root, "container.securityContext.privileged"),
    ("hostPath /", lambda d: d["spec"].update(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "spec.volumes[0].hostPath"),
    ("host network", lambda d: d["spec"].update(hostNetwork=True), "spec.hostNetwork"),
    ("host PID", lambda d: d["spec"].update(hostPID=True), "spec.hostPID"),
    ("any service account", lambda d: d["spec"].update(serviceAccountName="argo-server"), "spec.serviceAccountName"),
    ("a token mounted", lambda d: d["spec"].update(automountServiceAccountToken=True), "spec.automountServiceAccountToken"),
    ("any Secret as a volume", lambda d: d["spec"].update(volumes=[{"name": "k", "secret": {"secretName": "argo-s3"}}]), "spec.volumes[0].secret.secretName"),
    ("the S3 root keys", root_keys_in_the_environment, "env[0].valueFrom.secretKeyRef.name"),
    ("a reserved bucket", reserved_bucket_output, "outputs.artifacts[0].s3.bucket"),
    ("an artifact repository", lambda d: d["spec"].update(artifactRepositoryRef={"configMap": "artifact-repositories"}), "spec.artifactRepositoryRef"),
    ("another owner", another_owner, 'workflowMetadata.labels["simpipe.io/owner-hash"]'),
    ("another project", another_project, 'metadata.labels["simpipe.io/project"]'),
    ("a pod spec patch", lambda d: d["spec"].update(podSpecPatch='{"hostNetwork": true}'), "spec.podSpecPatch"),
    ("placement in the document", lambda d: d["spec"].update(nodeSelector={"simpipe.io/node-kind": "real"}), "spec.nodeSelector"),
    ("tolerating the real node", lambda d: step(d).update(tolerations=[{"operator": "Exists"}]), ".tolerations"),
    ("root", lambda d: step(d)["container"].update(securityContext={"runAsUser": 0}), "securityContext.runAsUser"),
    ("a resource template", lambda d: d["spec"]["templates"].append({"name": "r", "resource": {"action": "create", "manifest": "{}"}}), ".resource"),
    ("a ClusterWorkflowTemplate", lambda d: d["spec"].update(workflowTemplateRef={"name": "x", "clusterScope": True}), "workflowTemplateRef.clusterScope"),
]  # fmt: skip


@pytest.fixture(scope="module")
def custom_objects(stack: Stack) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens[GUEST])
    yield gql
    await gql.aclose()


@pytest.fixture
async def guest_project(guest: AsyncSimpipe) -> AsyncIterator[str]:
    created = await guest.graphql(
        "mutation($n: String!) { createProject(project: {name: $n}) { id } }", n="Hostile"
    )
    project_id: str = created["createProject"]["id"]
    yield project_id
    await guest.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=project_id)


def exists(api: client.CustomObjectsApi, plural: str, name: str) -> bool:
    for namespace in RUN_NAMESPACES:
        try:
            api.get_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, plural, name)
        except ApiException as error:
            if error.status == 404:
                continue
            raise
        return True
    return False


def guests_objects(api: client.CustomObjectsApi, plural: str) -> set[str]:
    names: set[str] = set()
    for namespace in RUN_NAMESPACES:
        found: dict[str, Any] = api.list_namespaced_custom_object(  # type: ignore[assignment]
            "argoproj.io", "v1alpha1", namespace, plural,
            label_selector=f"{LABEL_OWNER_HASH}={owner_hash(GUEST)}",
        )  # fmt: skip
        names |= {item["metadata"]["name"] for item in found["items"]}
    return names


async def refusal(gql: AsyncSimpipe, mutation: str, **variables: Any) -> GraphQLError:
    with pytest.raises(GraphQLError) as refused:
        await gql.graphql(mutation, **variables)
    return refused.value


@pytest.mark.parametrize(("escape", "attempt", "path"), ESCAPES, ids=[e[0] for e in ESCAPES])
async def test_each_escape_is_refused_as_a_dry_run_and_as_a_template(
    guest: AsyncSimpipe,
    guest_project: str,
    custom_objects: client.CustomObjectsApi,
    escape: str,
    attempt: Callable[[dict[str, Any]], None],
    path: str,
) -> None:
    before = guests_objects(custom_objects, "workflows")
    document = pipeline()
    attempt(document)
    run_id = unique("hostile")
    refused = await refusal(
        guest, CREATE_DRY_RUN,
        i={"projectId": guest_project, "dryRunId": run_id, "argoWorkflow": document,
           "placement": "VIRTUAL_NODES"},
    )  # fmt: skip
    assert refused.codes == [INVALID_WORKFLOW], refused
    assert path in str(refused)
    assert not exists(custom_objects, "workflows", run_id)
    assert guests_objects(custom_objects, "workflows") == before

    template = copy.deepcopy(document)
    template.update(kind="WorkflowTemplate", metadata={"name": unique("hostile")})
    refused = await refusal(
        guest, CREATE_TEMPLATE, i={"projectId": guest_project, "argoWorkflowTemplate": template}
    )
    assert refused.codes == [INVALID_TEMPLATE], refused
    assert path in str(refused)
    assert not exists(custom_objects, "workflowtemplates", template["metadata"]["name"])


async def test_another_users_templates_are_not_found_however_they_are_named(
    dev: AsyncSimpipe,
    project: str,
    guest: AsyncSimpipe,
    guest_project: str,
    custom_objects: client.CustomObjectsApi,
) -> None:
    theirs = pipeline()
    theirs.update(kind="WorkflowTemplate", metadata={"name": unique("devs")})
    name = theirs["metadata"]["name"]
    await dev.graphql(CREATE_TEMPLATE, i={"projectId": project, "argoWorkflowTemplate": theirs})
    before = guests_objects(custom_objects, "workflows")

    by_ref: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
              "metadata": {"generateName": "hostile-"}, "spec": {"workflowTemplateRef": {"name": name}}}  # fmt: skip
    in_a_step = pipeline()
    first = first_step(in_a_step)
    first.pop("template")
    first.update(templateRef={"name": name, "template": "step"}, withItems=[1, 2])
    attempts: list[tuple[str, dict[str, Any]]] = [
        (FROM_TEMPLATE, {"projectId": guest_project, "workflowTemplateName": name}),
        (FROM_TEMPLATE, {"workflowTemplateName": name}),
        (CREATE_DRY_RUN, {"projectId": guest_project, "argoWorkflow": by_ref}),
        (CREATE_DRY_RUN, {"projectId": guest_project, "argoWorkflow": in_a_step}),
    ]
    for mutation, given in attempts:
        refused = await refusal(guest, mutation, i={**given, "placement": "VIRTUAL_NODES"})
        assert refused.codes == ["NOT_FOUND_ERROR"], (given, refused)
    template = copy.deepcopy(by_ref)
    template.update(kind="WorkflowTemplate", metadata={"name": unique("hostile")})
    refused = await refusal(
        guest, CREATE_TEMPLATE, i={"projectId": guest_project, "argoWorkflowTemplate": template}
    )
    assert refused.codes == ["NOT_FOUND_ERROR"], refused
    assert guests_objects(custom_objects, "workflows") == before
    assert not exists(custom_objects, "workflowtemplates", template["metadata"]["name"])


async def test_placement_is_checked_as_input(
    guest: AsyncSimpipe, guest_project: str, custom_objects: client.CustomObjectsApi
) -> None:
    before = guests_objects(custom_objects, "workflows")
    base = {"projectId": guest_project, "argoWorkflow": pipeline()}
    attempts = [
        ({"placement": "VIRTUAL_NODES", "sandbox": "GVISOR"}, "INPUT_VALIDATION_ERROR"),
        ({"placement": "REAL_NODES", "nodeName": "kwok-node-0"}, "INPUT_VALIDATION_ERROR"),
        ({"placement": "VIRTUAL_NODES", "nodeName": "Not_A_Node"}, "INPUT_VALIDATION_ERROR"),
        ({"placement": "VIRTUAL_NODES", "nodeName": unique("no-such-node")}, "NOT_FOUND_ERROR"),
    ]
    for options, code in attempts:
        refused = await refusal(guest, CREATE_DRY_RUN, i={**base, **options})
        assert refused.codes == [code], (options, refused)
    assert guests_objects(custom_objects, "workflows") == before


async def test_document_bombs_are_input_errors(
    guest: AsyncSimpipe, guest_project: str, custom_objects: client.CustomObjectsApi
) -> None:
    before = guests_objects(custom_objects, "workflows")
    deep = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: " + "[" * 500 + "]" * 500
    many = pipeline()
    first_step(many)["withItems"] = list(range(20_000))
    for document in (deep, many):
        refused = await refusal(
            guest, CREATE_DRY_RUN, i={"projectId": guest_project, "argoWorkflow": document}
        )
        assert refused.codes == ["INPUT_VALIDATION_ERROR"], refused
    assert guests_objects(custom_objects, "workflows") == before


async def test_a_safe_document_runs_with_what_the_service_decides(
    guest: AsyncSimpipe, guest_project: str, custom_objects: client.CustomObjectsApi
) -> None:
    """The control: the same pipeline without an escape is admitted, and the
    stored Workflow carries the service's accounts, pod security and placement."""
    run_id = unique("safe")
    await guest.graphql(
        CREATE_DRY_RUN,
        i={"projectId": guest_project, "dryRunId": run_id, "argoWorkflow": pipeline(),
           "placement": "VIRTUAL_NODES"},
    )  # fmt: skip
    try:
        stored: dict[str, Any] = custom_objects.get_namespaced_custom_object(  # type: ignore[assignment]
            "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows", run_id
        )
        spec = stored["spec"]
        assert spec["serviceAccountName"] == "simpipe-workflow"
        assert spec["automountServiceAccountToken"] is False
        assert spec["executor"] == {"serviceAccountName": "simpipe-executor"}
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["nodeSelector"] == {"simpipe.io/node-kind": "kwok"}
        assert step(stored)["container"]["securityContext"]["allowPrivilegeEscalation"] is False
        assert stored["metadata"]["annotations"]["simpipe.io/policy"] == "1"
        assert stored["metadata"]["labels"][LABEL_OWNER_HASH] == owner_hash(GUEST)
        # Nothing the user wrote reaches a reserved bucket: no location but the service's.
        assert ARTIFACT_BUCKET not in str(spec.get("templates"))
    finally:
        await guest.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id)
