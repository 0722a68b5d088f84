"""Dry runs: Argo Workflows created, controlled and deleted for their owner."""

from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter

from simpipe.v1 import events_pb2, workflow_submitter_pb2
from simpipe_common.errors import ConflictError, InvalidInputError, NotFoundError
from simpipe_common.ownership import owner_of, project_of, stamp
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher
from simpipe_workflow_submitter import documents, validation
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.kube import CustomObjects, call
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.templates import Templates

log = structlog.get_logger(__name__)
SOURCE = "workflow-submitter"
CREATED = Counter("simpipe_dry_runs_created_total", "Dry runs created (retried creates excluded)")


@dataclass
class DryRuns:
    argo: Argo
    projects: ProjectStore
    templates: Templates
    custom_objects: CustomObjects
    publisher: EventPublisher
    namespace: str
    max_document_bytes: int
    artifact_repository: documents.ArtifactRepository

    async def owned(self, caller: str, dry_run_id: str) -> dict[str, Any]:
        validation.caller(caller)
        validation.dns_label("dry run id", dry_run_id)
        workflow = await self.argo.get_workflow(dry_run_id)
        if owner_of(workflow) != caller:
            raise NotFoundError(f"dry run {dry_run_id} not found")
        return workflow

    async def _document(
        self, request: workflow_submitter_pb2.CreateDryRunRequest
    ) -> dict[str, Any]:
        if request.document and request.workflow_template_name:
            raise InvalidInputError("give either a workflow document or a workflow template name")
        if request.document:
            return documents.parse(request.document, documents.WORKFLOW, self.max_document_bytes)
        if not request.workflow_template_name:
            raise InvalidInputError(
                "a dry run needs a workflow document or a workflow template name"
            )
        name = request.workflow_template_name
        await self.templates.owned(request.caller, name)
        spec: dict[str, Any] = {"workflowTemplateRef": {"name": name}}
        if request.parameters:
            spec["arguments"] = {
                "parameters": [
                    {"name": k, "value": v} for k, v in sorted(request.parameters.items())
                ]
            }
        return {
            "apiVersion": documents.ARGO_API_VERSION,
            "kind": documents.WORKFLOW,
            "metadata": {},
            "spec": spec,
        }

    async def create(self, request: workflow_submitter_pb2.CreateDryRunRequest) -> str:
        caller = validation.caller(request.caller)
        project_id = request.project_id
        if project_id:
            await self.projects.get(caller, project_id)
        document = await self._document(request)
        documents.set_input_artifacts(document, request.input_artifacts, self.artifact_repository)
        metadata = document["metadata"]
        metadata["namespace"] = self.namespace
        if request.dry_run_id:
            metadata["name"] = validation.dns_label("dry run id", request.dry_run_id)
            metadata.pop("generateName", None)
        elif metadata.get("name"):
            validation.dns_label("dry run id", str(metadata["name"]))
        elif not metadata.get("generateName"):
            metadata["generateName"] = f"{project_id or 'dry-run'}-"
        stamp(metadata, caller, project_id)
        try:
            created = await self.argo.create_workflow(document)
        except ConflictError:
            # A retried create with the same id: the same dry run, once.
            existing = await self.argo.get_workflow(str(metadata.get("name")))
            if (
                request.dry_run_id
                and owner_of(existing) == caller
                and project_of(existing) == project_id
            ):
                return str(existing["metadata"]["name"])
            raise
        CREATED.inc()
        name = created.name
        # The answer does not wait for JetStream's fsync; the event is retried
        # in the background until the stream has it.
        self.publisher.publish_soon(
            events_pb2.DryRunSubmitted(
                meta=contract.meta(f"submitted:{created.uid}", SOURCE),
                dry_run_id=name,
                project_id=project_id,
                owner=caller,
                uid=created.uid,
            )
        )
        return name

    async def resubmit(self, caller: str, dry_run_id: str) -> str:
        original = await self.owned(caller, dry_run_id)
        name = await self.argo.resubmit(dry_run_id)
        # Argo copies the spec, not our labels: the copy belongs where the original did.
        await self._label(name, caller, project_of(original))
        return name

    async def assign(self, caller: str, dry_run_id: str, project_id: str) -> str:
        await self.owned(caller, dry_run_id)
        await self.projects.get(caller, project_id)
        await self._label(dry_run_id, caller, project_id)
        return dry_run_id

    async def _label(self, name: str, caller: str, project_id: str) -> None:
        metadata: dict[str, Any] = {}
        stamp(metadata, caller, project_id)
        patch = {"metadata": metadata}
        await call(
            f"dry run {name}",
            self.custom_objects().patch_namespaced_custom_object,
            "argoproj.io", "v1alpha1", self.namespace, "workflows", name, patch,
        )  # fmt: skip
