"""Dry runs and workflow templates pass the workflow policy on their way to
Argo (over a stand-in Argo and project store): refused documents create
nothing, admitted ones carry the service's defaults, placement and policy
mark, and templates they name must be the caller's, of the same project,
and still within the policy as stored."""

import copy
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from simpipe.v1 import dry_runs_pb2, workflow_submitter_pb2
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError, NotFoundError
from simpipe_common.ownership import owner_of, project_of, stamp
from simpipe_common.testing import UNREACHABLE_URL, RecordedStream
from simpipe_workflow_submitter.argo import Argo, CreatedWorkflow
from simpipe_workflow_submitter.config import PlacementSettings, WorkflowPolicySettings
from simpipe_workflow_submitter.documents import ArtifactRepository, Bounds
from simpipe_workflow_submitter.dry_runs import DryRuns
from simpipe_workflow_submitter.intake import Intake
from simpipe_workflow_submitter.kube import CustomObjects, Nodes
from simpipe_workflow_submitter.placement import Placements
from simpipe_workflow_submitter.policy import POLICY_ANNOTATION, WorkflowPolicy
from simpipe_workflow_submitter.project_storage import ProjectStorage
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.registry_credentials import RegistryCredentials
from simpipe_workflow_submitter.templates import Templates

pb = workflow_submitter_pb2
ALICE, BOB = "alice@example.org", "bob@example.org"
PROJECTS = {"alpha": ALICE, "beta": ALICE, "bobs": BOB}
WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]
"""


class FakeArgo(Argo):
    def __init__(self) -> None:
        super().__init__(UNREACHABLE_URL, "simpipe")
        self.workflows: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}

    async def create_workflow(self, document: dict[str, Any]) -> CreatedWorkflow:
        name = str(document["metadata"].get("name") or f"run-{len(self.workflows)}")
        document["metadata"].update(name=name, uid=f"uid-{name}")
        self.workflows[name] = document
        return CreatedWorkflow(name, f"uid-{name}")

    async def get_workflow(self, name: str, namespace: str = "") -> dict[str, Any]:
        if name not in self.workflows:
            raise NotFoundError(f"dry run {name} not found")
        return self.workflows[name]

    async def create_template(self, document: dict[str, Any]) -> dict[str, Any]:
        self.templates[document["metadata"]["name"]] = document
        return document

    async def get_template(self, name: str) -> dict[str, Any]:
        if name not in self.templates:
            raise NotFoundError(f"workflow template {name} not found")
        return copy.deepcopy(self.templates[name])

    async def resubmit(self, name: str, namespace: str) -> str:
        raise AssertionError("resubmitted")


class Projects(ProjectStore):
    async def get(self, caller: str, project_id: str) -> dry_runs_pb2.Project:
        if PROJECTS.get(project_id) != caller:
            raise NotFoundError(f"project {project_id} not found")
        return dry_runs_pb2.Project(id=project_id, owner=caller)


class Storage(ProjectStorage):
    def __init__(self) -> None:
        self.attached: list[str] = []

    async def attach(
        self, document: dict[str, Any], owner: str, project_id: str, namespace: str
    ) -> None:
        self.attached.append(project_id)


def no_registry_credentials() -> RegistryCredentials:
    """A namespace with no registry credentials in it."""
    core = SimpleNamespace(list_namespaced_secret=lambda *_, **__: SimpleNamespace(items=[]))
    return RegistryCredentials(lambda: core, "simpipe", 50)  # type: ignore[arg-type,return-value]


@pytest.fixture
def dry_runs() -> DryRuns:
    argo = FakeArgo()
    projects = Projects(CustomObjects(None), "simpipe", Storage())
    intake = Intake(WorkflowPolicy(WorkflowPolicySettings()), Bounds(100_000, 64, 10_000))
    return DryRuns(
        argo, projects, Templates(argo, projects, "simpipe", intake), CustomObjects(None),
        RecordedStream(), "simpipe", Placements(PlacementSettings(), Nodes(None)),
        ArtifactRepository("s3:9000", True, "s3-secret"), "simpipe-sim",
        no_registry_credentials(),
    )  # fmt: skip


def fake_argo(dry_runs: DryRuns) -> FakeArgo:
    assert isinstance(dry_runs.argo, FakeArgo)
    return dry_runs.argo


def store_template(dry_runs: DryRuns, name: str, owner: str, project: str, spec: Any) -> None:
    """A template as Argo holds it (stored earlier, perhaps before the policy)."""
    metadata: dict[str, Any] = {"name": name, "namespace": "simpipe", "resourceVersion": "1"}
    stamp(metadata, owner, project)
    fake_argo(dry_runs).templates[name] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
        "metadata": metadata, "spec": spec,
    }  # fmt: skip


async def created_template(dry_runs: DryRuns, name: str, project: str = "alpha") -> None:
    document = yaml.safe_load(WORKFLOW)
    document["kind"] = "WorkflowTemplate"
    await dry_runs.templates.create(
        pb.WorkflowTemplateRequest(
            caller=ALICE, name=name, project_id=project, document=yaml.safe_dump(document)
        )
    )


async def test_a_refused_document_creates_nothing(dry_runs: DryRuns) -> None:
    hostile = WORKFLOW.replace(
        "command: [echo, hi]",
        "command: [cat, /host/etc/shadow], securityContext: {privileged: true}",
    )
    request = pb.CreateDryRunRequest(caller=ALICE, project_id="alpha", document=hostile)
    with pytest.raises(
        InvalidArgoDocumentError,
        match=r"spec\.templates\[0\]\.container\.securityContext\.privileged",
    ):
        await dry_runs.create(request)
    assert fake_argo(dry_runs).workflows == {}
    assert isinstance(dry_runs.projects.storage, Storage)
    assert dry_runs.projects.storage.attached == []
    assert isinstance(dry_runs.publisher, RecordedStream)
    assert dry_runs.publisher.events == []


async def test_an_admitted_run_carries_defaults_placement_and_the_policy_mark(
    dry_runs: DryRuns,
) -> None:
    request = pb.CreateDryRunRequest(
        caller=ALICE, project_id="alpha", document=WORKFLOW, dry_run_id="run-1",
        placement=pb.Placement(nodes=pb.NODES_VIRTUAL), sandbox=pb.SANDBOX_NONE,
    )  # fmt: skip
    assert await dry_runs.create(request) == "run-1"
    stored = fake_argo(dry_runs).workflows["run-1"]
    spec = stored["spec"]
    assert spec["serviceAccountName"] == "simpipe-workflow"
    assert spec["nodeSelector"] == {"simpipe.io/node-kind": "kwok"}
    assert spec["templates"][0]["container"]["securityContext"]["allowPrivilegeEscalation"] is False
    assert stored["metadata"]["annotations"][POLICY_ANNOTATION] == "1"
    assert (owner_of(stored), project_of(stored)) == (ALICE, "alpha")
    # The run passed the policy: it may be run again.
    await dry_runs.checked(ALICE, "run-1")


async def test_an_input_error_in_the_placement_comes_before_anything_else(
    dry_runs: DryRuns,
) -> None:
    request = pb.CreateDryRunRequest(
        caller=ALICE, project_id="alpha", document=WORKFLOW,
        placement=pb.Placement(nodes=pb.NODES_VIRTUAL), sandbox=pb.SANDBOX_GVISOR,
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match="GVISOR"):
        await dry_runs.create(request)
    assert fake_argo(dry_runs).workflows == {}


async def test_a_run_of_a_template_belongs_to_the_templates_project(dry_runs: DryRuns) -> None:
    await created_template(dry_runs, "pipeline", "beta")
    request = pb.CreateDryRunRequest(
        caller=ALICE, workflow_template_name="pipeline", parameters={"n": "2"}
    )
    name = await dry_runs.create(request)
    stored = fake_argo(dry_runs).workflows[name]
    assert project_of(stored) == "beta"
    assert stored["spec"]["workflowTemplateRef"] == {"name": "pipeline"}
    assert stored["spec"]["automountServiceAccountToken"] is False
    # Another project's run may not use it.
    other = pb.CreateDryRunRequest(
        caller=ALICE, project_id="alpha", workflow_template_name="pipeline"
    )
    with pytest.raises(
        InvalidArgoDocumentError,
        match=r"spec\.workflowTemplateRef\.name: workflow template pipeline is not in",
    ):
        await dry_runs.create(other)


async def test_someone_elses_template_is_not_found(dry_runs: DryRuns) -> None:
    store_template(dry_runs, "theirs", BOB, "bobs", yaml.safe_load(WORKFLOW)["spec"])
    by_name = pb.CreateDryRunRequest(caller=ALICE, workflow_template_name="theirs")
    with pytest.raises(NotFoundError, match="workflow template theirs not found"):
        await dry_runs.create(by_name)
    in_a_step = WORKFLOW.replace(
        "templates: [",
        "templates: [{name: s, steps: [[{name: x, templateRef: {name: theirs, template: main}}]]}, ",
    )
    request = pb.CreateDryRunRequest(caller=ALICE, project_id="alpha", document=in_a_step)
    with pytest.raises(NotFoundError, match="workflow template theirs not found"):
        await dry_runs.create(request)
    assert fake_argo(dry_runs).workflows == {}


async def test_a_template_stored_before_the_policy_is_refused_until_updated(
    dry_runs: DryRuns,
) -> None:
    spec = yaml.safe_load(WORKFLOW)["spec"]
    spec["templates"][0]["container"]["securityContext"] = {"privileged": True}
    store_template(dry_runs, "old", ALICE, "alpha", spec)
    request = pb.CreateDryRunRequest(caller=ALICE, workflow_template_name="old")
    with pytest.raises(
        InvalidArgoDocumentError, match="workflow template old as stored does not pass"
    ):
        await dry_runs.create(request)
    # Templates naming it are refused as well.
    document = yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate",
            "metadata": {},
            "spec": {"workflowTemplateRef": {"name": "old"}},
        }
    )
    with pytest.raises(InvalidArgoDocumentError, match="workflow template old as stored"):
        await dry_runs.templates.create(
            pb.WorkflowTemplateRequest(
                caller=ALICE, name="uses-old", project_id="alpha", document=document
            )
        )
    assert "uses-old" not in fake_argo(dry_runs).templates


async def test_a_run_not_admitted_by_this_policy_is_not_run_again(dry_runs: DryRuns) -> None:
    metadata: dict[str, Any] = {"name": "old-run"}
    stamp(metadata, ALICE, "alpha")
    fake_argo(dry_runs).workflows["old-run"] = {"metadata": metadata, "spec": {}}
    with pytest.raises(InvalidArgoDocumentError, match="created before"):
        await dry_runs.resubmit(ALICE, "old-run")
    with pytest.raises(InvalidArgoDocumentError, match="created before"):
        await dry_runs.checked(ALICE, "old-run")
