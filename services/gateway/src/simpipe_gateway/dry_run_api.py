"""GraphQL queries, mutations and subscriptions on projects, workflow
templates and dry runs (names as in the original SIM-PIPE controller API)."""

import enum
from collections.abc import AsyncGenerator
from typing import Any

import grpc
import strawberry
from strawberry.types.nodes import SelectedField

from simpipe.v1 import argo_watcher_pb2, events_pb2, workflow_submitter_pb2
from simpipe_events import contract
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.deadline import call_timeout
from simpipe_gateway.errors import from_rpc_error, rpc
from simpipe_gateway.input_bounds import bounded_list
from simpipe_gateway.run_feed import RunEvent
from simpipe_gateway.scalars import iso
from simpipe_gateway.subscription_guard import while_authorized
from simpipe_gateway.types import (
    ArgoWorkflow,
    ArgoWorkflowTemplate,
    DryRun,
    DryRunUpdate,
    Project,
    WorkflowTemplate,
    document_text,
    only_id,
    project_by_id,
    to_dry_run,
    to_project,
    to_template,
)

pb = workflow_submitter_pb2


async def _dry_run(info: GatewayInfo, dry_run_id: str, just_created: bool = False) -> DryRun:
    if just_created and _only_id_selected(info):
        # Scripts often ask for nothing but the new id: no need to wait for
        # the watcher to see the run.
        return only_id(dry_run_id)
    # The watcher finds a run whose create has returned even before its watch
    # has delivered it (it asks the cluster): read-your-writes, no polling.
    request = argo_watcher_pb2.GetDryRunRequest(caller=await caller(info), dry_run_id=dry_run_id)
    try:
        found = await gateway(info).watcher.GetDryRun(request, timeout=call_timeout())
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None
    return to_dry_run(found)


@strawberry.input
class CreateProjectInput:
    name: str
    id: str | None = None


@strawberry.input(
    description="An input file of the dry run, by reference: the step reads it from S3."
)
class InputArtifactInput:
    name: str = strawberry.field(description="The entrypoint's input artifact it becomes.")
    bucket_name: str
    key: str


@strawberry.enum(description="Which nodes run a dry run's pods.")
class Placement(enum.Enum):
    REAL_NODES = "REAL_NODES"
    VIRTUAL_NODES = "VIRTUAL_NODES"


@strawberry.enum(description="What a dry run's containers run in.")
class Sandbox(enum.Enum):
    NONE = "NONE"
    GVISOR = "GVISOR"


PLACEMENT_DESCRIPTION = "Real nodes (the default) or KWOK's virtual nodes."
SANDBOX_DESCRIPTION = "The node's runtime (the default), or gVisor (real nodes only)."
NODE_NAME_DESCRIPTION = (
    'One node of the placement\'s kind, by name ("default", as the original GUI sends it: any).'
)
VIRTUAL_CLUSTER_DESCRIPTION = (
    "VIRTUAL_NODES only: one of the caller's virtual clusters (without it: the stack's shared"
    " virtual nodes)."
)
POOL_DESCRIPTION = "With virtualCluster: one pool of it."
_NODES = {Placement.REAL_NODES: pb.NODES_REAL, Placement.VIRTUAL_NODES: pb.NODES_VIRTUAL}
_SANDBOXES = {Sandbox.NONE: pb.SANDBOX_NONE, Sandbox.GVISOR: pb.SANDBOX_GVISOR}


@strawberry.input
class CreateDryRunInput:
    argo_workflow: ArgoWorkflow
    project_id: str | None = None
    dry_run_id: str | None = None
    input_artifacts: list[InputArtifactInput] | None = None
    placement: Placement | None = strawberry.field(default=None, description=PLACEMENT_DESCRIPTION)
    sandbox: Sandbox | None = strawberry.field(default=None, description=SANDBOX_DESCRIPTION)
    node_name: str | None = strawberry.field(default=None, description=NODE_NAME_DESCRIPTION)
    virtual_cluster: str | None = strawberry.field(
        default=None, description=VIRTUAL_CLUSTER_DESCRIPTION
    )
    pool: str | None = strawberry.field(default=None, description=POOL_DESCRIPTION)


@strawberry.input(description="A dry run from one of the project's workflow templates.")
class CreateDryRunFromTemplateInput:
    workflow_template_name: str
    project_id: str | None = None
    dry_run_id: str | None = None
    parameters: list["ParameterInput"] | None = None
    input_artifacts: list[InputArtifactInput] | None = None
    placement: Placement | None = strawberry.field(default=None, description=PLACEMENT_DESCRIPTION)
    sandbox: Sandbox | None = strawberry.field(default=None, description=SANDBOX_DESCRIPTION)
    node_name: str | None = strawberry.field(default=None, description=NODE_NAME_DESCRIPTION)
    virtual_cluster: str | None = strawberry.field(
        default=None, description=VIRTUAL_CLUSTER_DESCRIPTION
    )
    pool: str | None = strawberry.field(default=None, description=POOL_DESCRIPTION)


@strawberry.input
class ParameterInput:
    name: str
    value: str


@strawberry.input
class CreateWorkflowTemplateInput:
    argo_workflow_template: ArgoWorkflowTemplate
    name: str | None = None
    project_id: str | None = None


@strawberry.input
class UpdateWorkflowTemplateInput:
    name: str
    argo_workflow_template: ArgoWorkflowTemplate
    project_id: str | None = None


@strawberry.type
class DryRunQuery:
    @strawberry.field(description="Answers pong while the gateway is up.")  # type: ignore[untyped-decorator]
    def ping(self) -> str:
        return "pong"

    @strawberry.field(description="The authenticated caller's name.")  # type: ignore[untyped-decorator]
    async def username(self, info: GatewayInfo) -> str:
        return await caller(info)

    @strawberry.field
    async def projects(self, info: GatewayInfo) -> list[Project]:
        found = await rpc(
            gateway(info).submitter.ListProjects, pb.ListProjectsRequest(caller=await caller(info))
        )
        return [to_project(p) for p in found.projects]

    @strawberry.field
    async def project(self, info: GatewayInfo, project_id: str) -> Project:
        return await project_by_id(info, project_id)

    @strawberry.field
    async def dry_run(self, info: GatewayInfo, dry_run_id: str) -> DryRun:
        return await _dry_run(info, dry_run_id)

    @strawberry.field
    async def workflow_template(self, info: GatewayInfo, name: str) -> WorkflowTemplate | None:
        found = await rpc(
            gateway(info).submitter.GetWorkflowTemplate,
            pb.WorkflowTemplateRef(caller=await caller(info), name=name),
        )
        return to_template(found)


async def _template_request(
    info: GatewayInfo, name: str | None, project_id: str | None, document: object
) -> pb.WorkflowTemplateRequest:
    return pb.WorkflowTemplateRequest(
        caller=await caller(info),
        name=name or "",
        project_id=project_id or "",
        document=document_text(document),
    )


async def _create_dry_run(
    info: GatewayInfo, project_id: str | None, dry_run_id: str | None, **source: Any
) -> DryRun:
    """source: `document` (with `input_artifacts`), or `workflow_template_name` with `parameters`."""
    request = pb.CreateDryRunRequest(
        caller=await caller(info),
        project_id=project_id or "",
        dry_run_id=dry_run_id or "",
        **source,
    )
    ref = await rpc(gateway(info).submitter.CreateDryRun, request)
    return await _dry_run(info, ref.dry_run_id, just_created=True)


# What the original GUI sends as createDryRun's nodeName when no node was
# chosen in its dialog (it lists no nodes here: `resources` is empty).
ORIGINAL_GUI_NO_NODE = "default"


def _node_name(given: str | None) -> str:
    return "" if given in (None, ORIGINAL_GUI_NO_NODE) else given


def _placement(input: CreateDryRunInput | CreateDryRunFromTemplateInput) -> dict[str, Any]:
    """The typed placement and sandbox of a new dry run; the submitter turns
    them into the Workflow's scheduling fields."""
    nodes = _NODES[input.placement] if input.placement else pb.NODES_UNSPECIFIED
    return {
        "placement": pb.Placement(
            nodes=nodes,
            node_name=_node_name(input.node_name),
            virtual_cluster=input.virtual_cluster or "",
            pool=input.pool or "",
        ),
        "sandbox": _SANDBOXES[input.sandbox] if input.sandbox else pb.SANDBOX_UNSPECIFIED,
    }


def _input_artifacts(given: list[InputArtifactInput] | None) -> list[pb.InputArtifact]:
    return [
        pb.InputArtifact(name=a.name, bucket=a.bucket_name, key=a.key)
        for a in bounded_list(given, "inputArtifacts")
    ]


def _only_id_selected(info: GatewayInfo) -> bool:
    selections = info.selected_fields[0].selections
    # Fragments are resolved the long way: they may ask for anything (and a
    # spread has a name too: `...id` is a fragment, not the field).
    return all(
        isinstance(field, SelectedField) and field.name in ("id", "__typename")
        for field in selections
    )


async def _command(info: GatewayInfo, method_name: str, dry_run_id: str) -> DryRun:
    method = getattr(gateway(info).submitter, method_name)
    ref = await rpc(method, pb.DryRunRef(caller=await caller(info), dry_run_id=dry_run_id))
    # A resubmit makes a new dry run; the others change this one.
    return await _dry_run(info, ref.dry_run_id, just_created=ref.dry_run_id != dry_run_id)


@strawberry.type
class DryRunMutation:
    @strawberry.mutation
    async def create_project(self, info: GatewayInfo, project: CreateProjectInput) -> Project:
        found = await rpc(
            gateway(info).submitter.CreateProject,
            pb.CreateProjectRequest(
                caller=await caller(info), name=project.name, id=project.id or ""
            ),
        )
        return to_project(found)

    @strawberry.mutation
    async def rename_project(self, info: GatewayInfo, project_id: str, name: str) -> Project:
        found = await rpc(
            gateway(info).submitter.RenameProject,
            pb.RenameProjectRequest(caller=await caller(info), project_id=project_id, name=name),
        )
        return to_project(found)

    @strawberry.mutation
    async def delete_project(self, info: GatewayInfo, project_id: str) -> bool:
        done = await rpc(
            gateway(info).submitter.DeleteProject,
            pb.ProjectRef(caller=await caller(info), project_id=project_id),
        )
        return done.deleted

    @strawberry.mutation
    async def create_workflow_template(
        self, info: GatewayInfo, input: CreateWorkflowTemplateInput
    ) -> WorkflowTemplate:
        request = await _template_request(
            info, input.name, input.project_id, input.argo_workflow_template
        )
        return to_template(await rpc(gateway(info).submitter.CreateWorkflowTemplate, request))

    @strawberry.mutation
    async def update_workflow_template(
        self, info: GatewayInfo, update: UpdateWorkflowTemplateInput
    ) -> WorkflowTemplate:
        request = await _template_request(
            info, update.name, update.project_id, update.argo_workflow_template
        )
        return to_template(await rpc(gateway(info).submitter.UpdateWorkflowTemplate, request))

    @strawberry.mutation
    async def delete_workflow_template(self, info: GatewayInfo, name: str) -> bool:
        done = await rpc(
            gateway(info).submitter.DeleteWorkflowTemplate,
            pb.WorkflowTemplateRef(caller=await caller(info), name=name),
        )
        return done.deleted

    @strawberry.mutation
    async def create_dry_run(self, info: GatewayInfo, input: CreateDryRunInput) -> DryRun:
        return await _create_dry_run(
            info,
            input.project_id,
            input.dry_run_id,
            document=document_text(input.argo_workflow),
            input_artifacts=_input_artifacts(input.input_artifacts),
            **_placement(input),
        )

    @strawberry.mutation
    async def create_dry_run_from_template(
        self, info: GatewayInfo, input: CreateDryRunFromTemplateInput
    ) -> DryRun:
        return await _create_dry_run(
            info,
            input.project_id,
            input.dry_run_id,
            workflow_template_name=input.workflow_template_name,
            parameters={p.name: p.value for p in bounded_list(input.parameters, "parameters")},
            input_artifacts=_input_artifacts(input.input_artifacts),
            **_placement(input),
        )

    @strawberry.mutation
    async def suspend_dry_run(self, info: GatewayInfo, dry_run_id: str) -> DryRun:
        return await _command(info, "SuspendDryRun", dry_run_id)

    @strawberry.mutation
    async def resume_dry_run(self, info: GatewayInfo, dry_run_id: str) -> DryRun:
        return await _command(info, "ResumeDryRun", dry_run_id)

    @strawberry.mutation
    async def retry_dry_run(self, info: GatewayInfo, dry_run_id: str) -> DryRun:
        return await _command(info, "RetryDryRun", dry_run_id)

    @strawberry.mutation
    async def resubmit_dry_run(self, info: GatewayInfo, dry_run_id: str) -> DryRun:
        return await _command(info, "ResubmitDryRun", dry_run_id)

    @strawberry.mutation
    async def stop_dry_run(
        self, info: GatewayInfo, dry_run_id: str, terminate: bool | None = None
    ) -> DryRun:
        ref = await rpc(
            gateway(info).submitter.StopDryRun,
            pb.StopDryRunRequest(
                caller=await caller(info), dry_run_id=dry_run_id, terminate=bool(terminate)
            ),
        )
        return await _dry_run(info, ref.dry_run_id)

    @strawberry.mutation
    async def delete_dry_run(self, info: GatewayInfo, dry_run_id: str) -> bool:
        done = await rpc(
            gateway(info).submitter.DeleteDryRun,
            pb.DryRunRef(caller=await caller(info), dry_run_id=dry_run_id),
        )
        return done.deleted

    @strawberry.mutation
    async def assign_dry_run_to_project(
        self, info: GatewayInfo, dry_run_id: str, project_id: str
    ) -> DryRun:
        ref = await rpc(
            gateway(info).submitter.AssignDryRunToProject,
            pb.AssignDryRunRequest(
                caller=await caller(info), dry_run_id=dry_run_id, project_id=project_id
            ),
        )
        return await _dry_run(info, ref.dry_run_id)


def to_update(event: RunEvent) -> DryRunUpdate:
    if event.run is not None:
        run: events_pb2.DryRunPhaseChanged = event.run
        return DryRunUpdate(
            dry_run_id=run.dry_run_id, project_id=run.project_id or None, kind="run",
            phase=contract.run_phase_name(run.phase), progress=run.progress or None,
            message=run.message or None,
            node_id=None, display_name=None, exit_code=None, occurred_at=iso(run.meta.occurred_at),
        )  # fmt: skip
    step = event.step
    assert step is not None
    return DryRunUpdate(
        dry_run_id=step.dry_run_id, project_id=step.project_id or None, kind="step",
        phase=contract.node_phase_name(step.phase), progress=None, message=step.message or None, node_id=step.node_id,
        display_name=step.display_name or None, exit_code=step.exit_code or None,
        occurred_at=iso(step.meta.occurred_at),
    )  # fmt: skip


@strawberry.type
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Every phase change of a dry run and its steps, from its start, until it ends."
    )
    async def dry_run_updates(
        self, info: GatewayInfo, dry_run_id: str
    ) -> AsyncGenerator[DryRunUpdate, None]:
        owner = await caller(info)
        run = await _dry_run(info, dry_run_id)  # the caller must own it
        events = gateway(info).run_feed.of_dry_run(owner, dry_run_id, run.uid)
        async for event in while_authorized(info, events):
            yield event.view(to_update)

    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Phase changes of a project's dry runs, from now on."
    )
    async def project_dry_run_updates(
        self, info: GatewayInfo, project_id: str
    ) -> AsyncGenerator[DryRunUpdate, None]:
        await project_by_id(info, project_id)  # the caller must own it
        events = gateway(info).run_feed.of_project(await caller(info), project_id)
        async for event in while_authorized(info, events):
            yield event.view(to_update)
