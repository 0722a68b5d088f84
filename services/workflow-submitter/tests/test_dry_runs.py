"""A dry run's create announces it once, on its owner's run subject, over a
stand-in Argo and the event stream in memory."""

from types import SimpleNamespace
from typing import Any

import pytest

from simpipe.v1 import events_pb2, kwok_scaler_pb2, workflow_submitter_pb2
from simpipe_common.errors import ConflictError, InvalidInputError, NotFoundError
from simpipe_common.ownership import owner_of, project_of
from simpipe_common.testing import UNREACHABLE_URL, RecordedStream
from simpipe_events import contract
from simpipe_workflow_submitter.argo import Argo, CreatedWorkflow
from simpipe_workflow_submitter.config import PlacementSettings, WorkflowPolicySettings
from simpipe_workflow_submitter.documents import ArtifactRepository, Bounds
from simpipe_workflow_submitter.dry_runs import DryRuns
from simpipe_workflow_submitter.intake import Intake
from simpipe_workflow_submitter.kube import CustomObjects, Nodes
from simpipe_workflow_submitter.placement import Placements
from simpipe_workflow_submitter.policy import WorkflowPolicy
from simpipe_workflow_submitter.project_storage import ProjectStorage
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.registry_credentials import RegistryCredentials
from simpipe_workflow_submitter.templates import Templates

ALICE = "alice@example.org"
DOCUMENT = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]
"""


class FakeArgo(Argo):
    """Stores Workflows by namespace and name, as the apiserver: a second
    create of a name in a namespace is a conflict."""

    def __init__(self) -> None:
        super().__init__(UNREACHABLE_URL, "simpipe", run_namespaces=("simpipe", "simpipe-sim"))
        self.workflows: dict[tuple[str, str], dict[str, Any]] = {}

    async def create_workflow(self, document: dict[str, Any]) -> CreatedWorkflow:
        metadata = document["metadata"]
        name = str(metadata.get("name") or f"demo-{len(self.workflows)}")
        if (metadata["namespace"], name) in self.workflows:
            raise ConflictError(f"workflow {name} already exists")
        uid = f"uid-{len(self.workflows)}"
        metadata.update(name=name, uid=uid)
        self.workflows[metadata["namespace"], name] = document
        return CreatedWorkflow(name, uid)

    async def get_workflow(self, name: str, namespace: str = "") -> dict[str, Any]:
        for where in (namespace,) if namespace else self.run_namespaces:
            if (where, name) in self.workflows:
                return self.workflows[where, name]
        raise NotFoundError(f"dry run {name} not found")


class RecordedStorage(ProjectStorage):
    """Records which runs were pointed at their project's storage (what
    that writes is test_project_storage's)."""

    def __init__(self) -> None:
        self.attached: list[tuple[str, str]] = []
        self.attached_in: list[str] = []

    async def attach(
        self, document: dict[str, Any], owner: str, project_id: str, namespace: str
    ) -> None:
        self.attached.append((owner, project_id))
        self.attached_in.append(namespace)


class PullSecrets(RegistryCredentials):
    """Names one credential of each owner's (what pull_secrets adds is
    test_registry_credential_secrets'); records whose runs asked."""

    def __init__(self) -> None:
        super().__init__(lambda: SimpleNamespace(), "simpipe", 50)  # type: ignore[arg-type,return-value]
        self.asked: list[str] = []

    async def pull_secrets(self, document: dict[str, Any], owner: str) -> None:
        self.asked.append(owner)
        document["spec"].setdefault("imagePullSecrets", []).append({"name": f"pull-{owner}"})


@pytest.fixture
def stream() -> RecordedStream:
    return RecordedStream()


@pytest.fixture
def dry_runs(stream: RecordedStream) -> DryRuns:
    argo = FakeArgo()
    projects = ProjectStore(CustomObjects(None), "simpipe", RecordedStorage())
    intake = Intake(WorkflowPolicy(WorkflowPolicySettings()), Bounds(100_000, 64, 10_000))
    return DryRuns(
        argo, projects, Templates(argo, projects, "simpipe", intake), CustomObjects(None),
        stream, "simpipe", Placements(PlacementSettings(), Nodes(None)),
        ArtifactRepository("http://s3", True, "s3-secret"), "simpipe-sim", PullSecrets(),
    )  # fmt: skip


async def test_a_created_run_is_announced_once_with_its_uid(
    dry_runs: DryRuns, stream: RecordedStream
) -> None:
    request = workflow_submitter_pb2.CreateDryRunRequest(
        caller=ALICE, document=DOCUMENT, dry_run_id="run-1"
    )
    assert await dry_runs.create(request) == "run-1"
    stored = await dry_runs.argo.get_workflow("run-1")
    assert (owner_of(stored), project_of(stored)) == (ALICE, "")
    assert isinstance(dry_runs.projects.storage, RecordedStorage)
    assert dry_runs.projects.storage.attached == [(ALICE, "")]

    [submitted] = stream.events
    assert isinstance(submitted, events_pb2.DryRunSubmitted)
    assert (submitted.dry_run_id, submitted.project_id, submitted.owner, submitted.uid) == (
        "run-1", "", ALICE, "uid-0",
    )  # fmt: skip
    assert (submitted.meta.event_id, submitted.meta.source) == (
        "submitted:uid-0", "workflow-submitter",
    )  # fmt: skip
    assert stream.subjects == [
        contract.event_type(events_pb2.DryRunSubmitted).subject(
            owner=ALICE, project="", run="run-1"
        )
    ]

    # A retried create of the same id is the same run: not announced again.
    assert await dry_runs.create(request) == "run-1"
    assert stream.events == [submitted]


async def test_a_simulated_copy_carries_its_figures_and_simulation(dry_runs: DryRuns) -> None:
    request = workflow_submitter_pb2.CreateDryRunRequest(
        caller=ALICE, document=DOCUMENT, dry_run_id="sim-1-0", simulation_id="sim-1",
        placement=workflow_submitter_pb2.Placement(nodes=workflow_submitter_pb2.NODES_VIRTUAL),
        simulated_steps=[kwok_scaler_pb2.StepFigures(step="main", seconds=3)],
    )  # fmt: skip
    assert await dry_runs.create(request) == "sim-1-0"
    stored = await dry_runs.argo.get_workflow("sim-1-0")
    assert stored["metadata"]["labels"]["simpipe.io/simulation"] == "sim-1"
    assert owner_of(stored) == ALICE
    [main] = stored["spec"]["templates"]
    assert main["metadata"]["annotations"]["simpipe.io/sim-duration"] == "3s"
    # On a real placement the same figures are refused.
    request.placement.nodes = workflow_submitter_pb2.NODES_REAL
    request.dry_run_id = "sim-1-1"
    with pytest.raises(InvalidInputError, match="VIRTUAL"):
        await dry_runs.create(request)


VIRTUAL = workflow_submitter_pb2.Placement(nodes=workflow_submitter_pb2.NODES_VIRTUAL)


async def test_a_run_on_virtual_nodes_lives_in_the_simulations_namespace(
    dry_runs: DryRuns,
) -> None:
    real = workflow_submitter_pb2.CreateDryRunRequest(
        caller=ALICE, document=DOCUMENT, dry_run_id="on-real"
    )
    virtual = workflow_submitter_pb2.CreateDryRunRequest(
        caller=ALICE, document=DOCUMENT, dry_run_id="on-virtual", placement=VIRTUAL
    )
    await dry_runs.create(real)
    await dry_runs.create(virtual)
    assert (await dry_runs.argo.get_workflow("on-real"))["metadata"]["namespace"] == "simpipe"
    found = await dry_runs.argo.get_workflow("on-virtual")
    assert found["metadata"]["namespace"] == "simpipe-sim"
    # Its project's storage is made where it runs.
    assert isinstance(dry_runs.projects.storage, RecordedStorage)
    assert dry_runs.projects.storage.attached_in == ["simpipe", "simpipe-sim"]
    # Only the real nodes pull images with the owner's registry credentials.
    assert isinstance(dry_runs.registry_credentials, PullSecrets)
    assert dry_runs.registry_credentials.asked == [ALICE]
    real_spec = (await dry_runs.argo.get_workflow("on-real"))["spec"]
    assert real_spec["imagePullSecrets"] == [{"name": f"pull-{ALICE}"}]
    assert "imagePullSecrets" not in found["spec"]


async def test_an_id_taken_in_one_namespace_is_refused_in_the_other(dry_runs: DryRuns) -> None:
    await dry_runs.create(
        workflow_submitter_pb2.CreateDryRunRequest(caller=ALICE, document=DOCUMENT, dry_run_id="x")
    )
    with pytest.raises(ConflictError, match="already exists"):
        await dry_runs.create(
            workflow_submitter_pb2.CreateDryRunRequest(
                caller=ALICE, document=DOCUMENT, dry_run_id="x", placement=VIRTUAL
            )
        )
    assert isinstance(dry_runs.argo, FakeArgo)
    assert [key for key in dry_runs.argo.workflows if key[1] == "x"] == [("simpipe", "x")]
