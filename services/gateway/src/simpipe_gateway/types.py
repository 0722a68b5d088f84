"""GraphQL types: the original SIM-PIPE controller API's names, filled from
the services' protobuf messages."""

import asyncio
import json
from enum import Enum
from typing import Any, NewType, Optional

import strawberry
from google.protobuf.timestamp_pb2 import Timestamp
from strawberry.types.scalar import ScalarDefinition

from simpipe.v1 import argo_watcher_pb2, dry_runs_pb2, storage_broker_pb2, workflow_submitter_pb2
from simpipe_events import contract
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import rpc, rpc_or_none
from simpipe_gateway.input_bounds import MAX_LOG_LINES, bounded_int
from simpipe_gateway.metrics_api import (
    DryRunNodeMetrics,
    RunMetricsSummary,
    RunReport,
    run_metrics_summary,
    run_report,
    step_metrics,
)
from simpipe_gateway.run_node import run_node_name
from simpipe_gateway.scalars import as_is, iso

# Documents pass through as JSON has them; the schema maps these types to
# their scalars (DOCUMENT_SCALARS in the schema's scalar_map).
ArgoWorkflow = NewType("ArgoWorkflow", object)
ArgoWorkflowTemplate = NewType("ArgoWorkflowTemplate", object)
DOCUMENT_SCALARS: dict[object, ScalarDefinition] = {
    ArgoWorkflow: strawberry.scalar(
        name="ArgoWorkflow",
        description="An Argo Workflow document: a JSON object, or YAML/JSON text.",
        serialize=as_is,
        parse_value=as_is,
    ),
    ArgoWorkflowTemplate: strawberry.scalar(
        name="ArgoWorkflowTemplate",
        description="An Argo WorkflowTemplate document: a JSON object, or YAML/JSON text.",
        serialize=as_is,
        parse_value=as_is,
    ),
}


def document_text(value: object) -> str:
    """What the services take: text (YAML or JSON)."""
    return value if isinstance(value, str) else json.dumps(value)


# GraphQL's Int is 32 bits; files pass 2 GiB, so sizes are Floats (exact to 2^53).
Size = float


@strawberry.type
class Artifact:
    name: str = strawberry.field(
        description="Of a listed object, its key (as the original API); of a step's file, its Argo"
        " artifact name."
    )
    key: str
    url: str | None = strawberry.field(description="A presigned download URL.")
    size: Size | None
    bucket_name: str
    moose_report: str | None = strawberry.field(
        default=None,
        description="Always null: Moose compliance analysis is not run here (the original GUI asks).",
    )
    sotw_report_url: str | None = strawberry.field(
        default=None, description="Always null: derived from mooseReport, which is not run here."
    )


async def step_files(info: GatewayInfo, files: list[dry_runs_pb2.Artifact]) -> list[Artifact]:
    """A step's files with download URLs and sizes, all asked for at once. A
    file may be gone (deleted, or never written by a failed step): then it
    has no size, and its URL answers 404. Keys are the caller's view of
    them (the broker's, without the owner prefix of a shared bucket); a file
    outside the caller's storage has neither URL nor size."""
    who = await caller(info)
    storage = gateway(info).storage

    async def size(file: dry_runs_pb2.Artifact) -> Size | None:
        found = await rpc_or_none(
            storage.StatObject,
            storage_broker_pb2.ObjectRef(
                caller=who, bucket=file.bucket, key=file.key, stored_key=True
            ),
        )
        return None if found is None else found.size

    async def one(file: dry_runs_pb2.Artifact) -> Artifact:
        presigned, found_size = await asyncio.gather(
            rpc_or_none(
                storage.PresignGet,
                storage_broker_pb2.PresignRequest(
                    caller=who, bucket=file.bucket, key=file.key, stored_key=True
                ),
            ),
            size(file),
        )
        return Artifact(
            name=file.name,
            key=file.key if presigned is None else presigned.key,
            url=None if presigned is None else presigned.url,
            size=found_size,
            bucket_name=file.bucket,
        )

    return list(await asyncio.gather(*(one(file) for file in files)))


# GraphQL's spelling of the contract's phases (simpipe_events.contract);
# test_conversions keeps them equal.
@strawberry.enum
class DryRunPhase(Enum):
    Pending = "Pending"
    Running = "Running"
    Suspended = "Suspended"
    Succeeded = "Succeeded"
    Failed = "Failed"
    Error = "Error"
    Unknown = "Unknown"


@strawberry.enum
class DryRunNodePhase(Enum):
    Pending = "Pending"
    Running = "Running"
    Succeeded = "Succeeded"
    Skipped = "Skipped"
    Failed = "Failed"
    Error = "Error"
    Omitted = "Omitted"
    Unknown = "Unknown"


@strawberry.enum
class DryRunNodeType(Enum):
    Pod = "Pod"
    Container = "Container"
    Steps = "Steps"
    StepGroup = "StepGroup"
    DAG = "DAG"
    TaskGroup = "TaskGroup"
    Retry = "Retry"
    Skipped = "Skipped"
    Suspend = "Suspend"
    HTTP = "HTTP"
    Plugin = "Plugin"


def run_phase(phase: int) -> DryRunPhase:
    """The contract's phase, by name (a test keeps the two enums equal)."""
    return DryRunPhase(contract.run_phase_name(phase or contract.DryRunPhase.DRY_RUN_PHASE_UNKNOWN))


def node_phase(phase: int) -> DryRunNodePhase:
    return DryRunNodePhase(contract.node_phase_name(phase or contract.NodePhase.NODE_PHASE_UNKNOWN))


def node_type(value: str) -> DryRunNodeType:
    """Argo's node type; one this API does not know shows as Steps."""
    try:
        return DryRunNodeType(value)
    except ValueError:
        return DryRunNodeType.Steps


@strawberry.type
class DryRunStatus:
    phase: DryRunPhase
    started_at: str | None
    finished_at: str | None
    progress: str | None
    message: str | None
    estimated_duration: int | None


@strawberry.type
class DryRunNodeResourceDuration:
    cpu: str | None
    memory: str | None
    gpu: str | None


@strawberry.interface
class DryRunNode:
    id: str
    type: DryRunNodeType
    name: str
    display_name: str | None
    template_name: str | None
    phase: DryRunNodePhase
    started_at: str | None
    finished_at: str | None
    duration: int | None
    progress: str | None
    message: str | None
    children_ids: strawberry.Private[list[str]]
    dry_run_id: strawberry.Private[str]
    # Every node of the same dry run by id, to resolve `children`.
    graph: strawberry.Private[dict[str, "DryRunNode"]]

    @strawberry.field
    def children(self) -> list["DryRunNode"] | None:
        return [self.graph[c] for c in self.children_ids if c in self.graph] or None


@strawberry.type
class DryRunNodeMisc(DryRunNode):
    pass


@strawberry.type
class DryRunNodePod(DryRunNode):
    exit_code: str | None
    pod_name: str
    resources_duration: DryRunNodeResourceDuration | None
    input_files: strawberry.Private[list[dry_runs_pb2.Artifact]]
    output_files: strawberry.Private[list[dry_runs_pb2.Artifact]]

    @strawberry.field(description="The files the step read from S3.")  # type: ignore[untyped-decorator]
    async def input_artifacts(self, info: GatewayInfo) -> list[Artifact]:
        return await step_files(info, self.input_files)

    @strawberry.field(
        description="The files the step wrote to S3, its archived log (main-logs) among them."
    )  # type: ignore[untyped-decorator]
    async def output_artifacts(self, info: GatewayInfo) -> list[Artifact]:
        return await step_files(info, self.output_files)

    @strawberry.field(description="The step's Prometheus series and summary.")  # type: ignore[untyped-decorator]
    async def metrics(self, info: GatewayInfo) -> DryRunNodeMetrics:
        return await step_metrics(info, self.dry_run_id, self.id)

    @strawberry.field(
        description=f"The step's log lines (main container): the last maxLines, at most {MAX_LOG_LINES}."
    )  # type: ignore[untyped-decorator]
    async def log(
        self,
        info: GatewayInfo,
        max_lines: int | None = None,
        grep: str | None = None,
        since_seconds: int | None = None,
        since_time: int | None = None,
    ) -> list[str]:
        bounded_int(max_lines, "maxLines", 1, MAX_LOG_LINES)
        bounded_int(since_seconds, "sinceSeconds", 0, 2**31 - 1)
        bounded_int(since_time, "sinceTime", 0, 2**31 - 1)
        since = Timestamp()
        if since_time is not None:
            since.FromSeconds(since_time)
        elif since_seconds is not None:
            since.GetCurrentTime()
            since.FromSeconds(since.seconds - since_seconds)
        response = await rpc(
            gateway(info).watcher.GetStepLog,
            argo_watcher_pb2.GetStepLogRequest(
                caller=await caller(info),
                dry_run_id=self.dry_run_id,
                node_id=self.id,
                max_lines=max_lines or MAX_LOG_LINES,
                since=since,
                grep=grep or "",
            ),
        )
        return list(response.lines)


def to_node(
    node: dry_runs_pb2.DryRunNode, dry_run_id: str, graph: dict[str, DryRunNode]
) -> DryRunNode:
    common: dict[str, Any] = {
        "id": node.id,
        "type": node_type(node.type),
        "name": node.name,
        "display_name": node.display_name or None,
        "template_name": node.template_name or None,
        "phase": node_phase(node.phase),
        "started_at": iso(node.started_at),
        "finished_at": iso(node.finished_at),
        "duration": node.duration_seconds if node.HasField("finished_at") else None,
        "progress": node.progress or None,
        "message": node.message or None,
        "children_ids": list(node.children),
        "dry_run_id": dry_run_id,
        "graph": graph,
    }
    if node.type != "Pod":
        return DryRunNodeMisc(**common)
    durations = dict(node.resources_duration)
    return DryRunNodePod(
        **common,
        exit_code=node.exit_code or None,
        pod_name=node.pod_name,
        input_files=list(node.input_artifacts),
        output_files=list(node.output_artifacts),
        resources_duration=DryRunNodeResourceDuration(
            cpu=str(durations["cpu"]) if "cpu" in durations else None,
            memory=str(durations["memory"]) if "memory" in durations else None,
            gpu=str(durations["nvidia.com/gpu"]) if "nvidia.com/gpu" in durations else None,
        )
        if durations
        else None,
    )


@strawberry.type
class DryRun:
    id: str
    created_at: str
    argo_workflow: ArgoWorkflow
    status: DryRunStatus
    nodes: list[DryRunNode] | None
    project_id: strawberry.Private[str]
    archived: bool
    # The Workflow's uid: which run of this name (an id may be used again).
    uid: strawberry.Private[str] = ""

    @strawberry.field
    def node(self, id: str) -> DryRunNode | None:
        return next((n for n in self.nodes or [] if n.id == id), None)

    @strawberry.field(
        description=(
            "The node the run's first pod ran on; before any ran, the node it was placed on"
            " (createDryRun's nodeName); otherwise null."
        )
    )  # type: ignore[untyped-decorator]
    def node_name(self) -> str | None:
        return run_node_name(self.argo_workflow)

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Optional["Project"]:
        return await project_by_id(info, self.project_id) if self.project_id else None

    @strawberry.field(description="What the run and its steps used so far, with energy and carbon.")  # type: ignore[untyped-decorator]
    async def metrics_summary(self, info: GatewayInfo) -> RunMetricsSummary:
        return await run_metrics_summary(info, self.id)

    @strawberry.field(description="The report written when the run finished; null until then.")  # type: ignore[untyped-decorator]
    async def report(self, info: GatewayInfo) -> RunReport | None:
        return await run_report(info, self.id)


def only_id(dry_run_id: str) -> DryRun:
    """A DryRun carrying its id alone, for a selection that asks for nothing else."""
    status = DryRunStatus(
        phase=DryRunPhase.Pending, started_at=None, finished_at=None, progress=None,
        message=None, estimated_duration=None,
    )  # fmt: skip
    return DryRun(
        id=dry_run_id, created_at="", argo_workflow=ArgoWorkflow({}), status=status, nodes=None,
        project_id="", archived=False,
    )  # fmt: skip


def to_dry_run(message: dry_runs_pb2.DryRun) -> DryRun:
    status = message.status
    graph: dict[str, DryRunNode] = {}
    for node in message.nodes:
        graph[node.id] = to_node(node, message.id, graph)
    return DryRun(
        id=message.id,
        uid=message.uid,
        created_at=iso(message.created_at) or "",
        argo_workflow=json.loads(message.argo_workflow_json or "{}"),
        status=DryRunStatus(
            phase=run_phase(status.phase),
            started_at=iso(status.started_at),
            finished_at=iso(status.finished_at),
            progress=status.progress or None,
            message=status.message or None,
            estimated_duration=status.estimated_duration_seconds or None,
        ),
        nodes=list(graph.values()),
        project_id=message.project_id,
        archived=message.archived,
    )


@strawberry.type
class WorkflowTemplate:
    name: str
    argo_workflow_template: ArgoWorkflowTemplate
    project_id: strawberry.Private[str]

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Optional["Project"]:
        return await project_by_id(info, self.project_id)


def to_template(message: dry_runs_pb2.WorkflowTemplate) -> WorkflowTemplate:
    return WorkflowTemplate(
        name=message.name,
        argo_workflow_template=json.loads(message.argo_workflow_template_json or "{}"),
        project_id=message.project_id,
    )


@strawberry.type
class Project:
    id: str
    name: str
    created_at: str

    @strawberry.field
    async def dry_runs(self, info: GatewayInfo) -> list[DryRun]:
        found = await rpc(
            gateway(info).watcher.ListDryRuns,
            argo_watcher_pb2.ListDryRunsRequest(caller=await caller(info), project_id=self.id),
        )
        return [to_dry_run(d) for d in found.dry_runs]

    @strawberry.field
    async def workflow_templates(self, info: GatewayInfo) -> list[WorkflowTemplate]:
        found = await rpc(
            gateway(info).submitter.ListWorkflowTemplates,
            workflow_submitter_pb2.ProjectRef(caller=await caller(info), project_id=self.id),
        )
        return [to_template(t) for t in found.workflow_templates]


def to_project(message: dry_runs_pb2.Project) -> Project:
    return Project(id=message.id, name=message.name, created_at=iso(message.created_at) or "")


async def project_by_id(info: GatewayInfo, project_id: str) -> Project:
    """The caller's project (NOT_FOUND_ERROR when it is not theirs)."""
    found = await rpc(
        gateway(info).submitter.GetProject,
        workflow_submitter_pb2.ProjectRef(caller=await caller(info), project_id=project_id),
    )
    return to_project(found)


@strawberry.type(description="A change of a dry run or of one of its steps, pushed as it happens.")
class DryRunUpdate:
    dry_run_id: str
    project_id: str | None
    # "run" for the dry run's own phase, "step" for one of its steps.
    kind: str
    phase: str
    progress: str | None
    message: str | None
    node_id: str | None
    display_name: str | None
    exit_code: str | None
    occurred_at: str | None
