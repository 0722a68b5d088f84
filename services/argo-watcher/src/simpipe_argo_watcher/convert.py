"""Argo Workflow documents (JSON as the Kubernetes API and Argo's archive serve
them) to the simpipe.v1 dry-run model."""

import json
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import dry_runs_pb2, events_pb2
from simpipe_common.argo_nodes import workflow_nodes
from simpipe_common.ownership import owner_of, project_of
from simpipe_events import contract

Workflow = dict[str, Any]

DryRunPhase = events_pb2.DryRunPhase
NodePhase = events_pb2.NodePhase

# Argo 3.6's pod naming (workflow/util/pod_name.go): the annotation on the
# Workflow wins over the controller's POD_NAMES, whose default is v2.
ANNOTATION_POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"
_MAX_POD_NAME_PREFIX = 253 - 10 - 1
# The bucket of Argo's default artifact repository when the Workflow's status
# does not name it (ArgoWatcherSettings.artifact_bucket overrides it).
DEFAULT_ARTIFACT_BUCKET = "argo-artifacts"


def workflow_phase(workflow: Workflow) -> DryRunPhase.ValueType:
    # A Workflow the controller has not picked up yet has no phase: it is pending.
    name = str(_status(workflow).get("phase") or "Pending")
    found = DryRunPhase.ValueType(contract.run_phase_of_name(name))
    # Argo reports a suspended workflow as Running; `argo suspend` sets spec.suspend.
    if found == events_pb2.DRY_RUN_PHASE_RUNNING and (workflow.get("spec") or {}).get("suspend"):
        return events_pb2.DRY_RUN_PHASE_SUSPENDED
    return found


def node_phase(phase: str) -> NodePhase.ValueType:
    return NodePhase.ValueType(contract.node_phase_of_name(phase or "Pending"))


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow: Workflow, node: dict[str, Any]) -> str:
    """The name Argo gives the pod of a Pod node (GeneratePodName): computed, so it
    is known for archived runs and after the pod was garbage-collected too."""
    metadata = workflow.get("metadata") or {}
    workflow_name = str(metadata.get("name", ""))
    if (metadata.get("annotations") or {}).get(ANNOTATION_POD_NAME_FORMAT) == "v1":
        return str(node["id"])
    node_name = str(node.get("name", ""))
    if node_name == workflow_name:
        return workflow_name
    template = (node.get("templateRef") or {}).get("template") or node.get("templateName") or ""
    prefix = f"{workflow_name}-{template}" if template else workflow_name
    return f"{prefix[:_MAX_POD_NAME_PREFIX]}-{fnv32a(node_name.encode())}"


def to_dry_run(
    workflow: Workflow, archived: bool = False, default_bucket: str = DEFAULT_ARTIFACT_BUCKET
) -> dry_runs_pb2.DryRun:
    metadata = workflow.get("metadata") or {}
    status = _status(workflow)
    # Artifacts kept in the repository name only their key; Argo records the
    # repository it used in the status.
    repository = (status.get("artifactRepositoryRef") or {}).get("artifactRepository") or {}
    bucket = str((repository.get("s3") or {}).get("bucket") or default_bucket)
    dry_run = dry_runs_pb2.DryRun(
        id=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
        namespace=str(metadata.get("namespace", "")),
        project_id=project_of(workflow),
        owner=owner_of(workflow),
        status=dry_runs_pb2.DryRunStatus(
            phase=workflow_phase(workflow),
            progress=str(status.get("progress") or ""),
            message=str(status.get("message") or ""),
            estimated_duration_seconds=int(status.get("estimatedDuration") or 0),
        ),
        nodes=[
            _node(workflow, node, bucket)
            for node in sorted(
                workflow_nodes(status).values(),
                key=lambda n: (n.get("startedAt") or "~", n.get("id", "")),
            )
        ],
        argo_workflow_json=json.dumps(_without_managed_fields(workflow), sort_keys=True),
        archived=archived,
    )
    _set_time(dry_run.created_at, metadata.get("creationTimestamp"))
    _set_time(dry_run.status.started_at, status.get("startedAt"))
    _set_time(dry_run.status.finished_at, status.get("finishedAt"))
    return dry_run


def _node(
    workflow: Workflow, node: dict[str, Any], repository_bucket: str
) -> dry_runs_pb2.DryRunNode:
    is_pod = node.get("type") == "Pod"
    inputs, outputs = node.get("inputs") or {}, node.get("outputs") or {}
    converted = dry_runs_pb2.DryRunNode(
        id=str(node.get("id", "")),
        type=str(node.get("type", "")),
        name=str(node.get("name", "")),
        display_name=str(node.get("displayName", "")),
        template_name=str(
            node.get("templateName") or (node.get("templateRef") or {}).get("template") or ""
        ),
        phase=node_phase(str(node.get("phase") or "")),
        duration_seconds=_whole_seconds_between(node.get("startedAt"), node.get("finishedAt")),
        progress=str(node.get("progress") or ""),
        children=[str(child) for child in node.get("children") or []],
        exit_code=str(outputs.get("exitCode") or ""),
        pod_name=pod_name(workflow, node) if is_pod else "",
        message=str(node.get("message") or ""),
        resources_duration={
            str(name): int(seconds)
            for name, seconds in (node.get("resourcesDuration") or {}).items()
        },
        # Grouping nodes repeat their steps' artifacts: only a step's own count.
        input_artifacts=_artifacts(inputs, repository_bucket) if is_pod else [],
        output_artifacts=_artifacts(outputs, repository_bucket) if is_pod else [],
    )
    _set_time(converted.started_at, node.get("startedAt"))
    _set_time(converted.finished_at, node.get("finishedAt"))
    return converted


def _artifacts(io: dict[str, Any], repository_bucket: str) -> list[dry_runs_pb2.Artifact]:
    """The S3 artifacts of a node's inputs or outputs. Others (raw, HTTP, git, an
    optional output never written) have no object to point at and are left out."""
    return [
        dry_runs_pb2.Artifact(
            name=str(artifact.get("name", "")),
            bucket=str(artifact["s3"].get("bucket") or repository_bucket),
            key=str(artifact["s3"]["key"]),
        )
        for artifact in io.get("artifacts") or []
        if (artifact.get("s3") or {}).get("key")
    ]


def _status(workflow: Workflow) -> dict[str, Any]:
    status: dict[str, Any] = workflow.get("status") or {}
    return status


def _without_managed_fields(workflow: Workflow) -> Workflow:
    # managedFields are the apiserver's bookkeeping: large and of no use to clients.
    metadata = {k: v for k, v in (workflow.get("metadata") or {}).items() if k != "managedFields"}
    return {**workflow, "metadata": metadata}


def parse_time(value: object) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def _set_time(target: Timestamp, value: object) -> None:
    parsed = parse_time(value)
    if parsed is not None:
        target.FromDatetime(parsed)


def _whole_seconds_between(start: object, end: object) -> int:
    started, finished = parse_time(start), parse_time(end)
    if started is None or finished is None:
        return 0
    return int((finished - started).total_seconds())
