"""Workflow templates (pipelines): Argo WorkflowTemplates owned by a caller,
each in one of the caller's projects."""

import json
from dataclasses import dataclass
from typing import Any

from simpipe.v1 import dry_runs_pb2, workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_common.ownership import owner_of, project_of, stamp
from simpipe_workflow_submitter import documents, validation
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.projects import ProjectStore


def to_message(template: dict[str, Any]) -> dry_runs_pb2.WorkflowTemplate:
    return dry_runs_pb2.WorkflowTemplate(
        name=template["metadata"]["name"],
        project_id=project_of(template),
        argo_workflow_template_json=json.dumps(template, sort_keys=True),
    )


@dataclass
class Templates:
    argo: Argo
    projects: ProjectStore
    namespace: str
    max_document_bytes: int

    async def owned(self, caller: str, name: str) -> dict[str, Any]:
        validation.caller(caller)
        validation.dns_label("workflow template name", name)
        template = await self.argo.get_template(name)
        if owner_of(template) != caller:
            raise NotFoundError(f"workflow template {name} not found")
        return template

    async def _prepared(
        self, request: workflow_submitter_pb2.WorkflowTemplateRequest, project_id: str
    ) -> dict[str, Any]:
        document = documents.parse(
            request.document, documents.WORKFLOW_TEMPLATE, self.max_document_bytes
        )
        metadata = document["metadata"]
        name = request.name or metadata.get("name", "")
        if not name:
            raise InvalidInputError("a workflow template needs a name (argument or metadata.name)")
        metadata["name"] = validation.dns_label("workflow template name", str(name))
        metadata.pop("generateName", None)
        metadata["namespace"] = self.namespace
        stamp(metadata, request.caller, project_id)
        return document

    async def create(
        self, request: workflow_submitter_pb2.WorkflowTemplateRequest
    ) -> dry_runs_pb2.WorkflowTemplate:
        validation.caller(request.caller)
        await self.projects.get(request.caller, request.project_id)
        document = await self._prepared(request, request.project_id)
        return to_message(await self.argo.create_template(document))

    async def update(
        self, request: workflow_submitter_pb2.WorkflowTemplateRequest
    ) -> dry_runs_pb2.WorkflowTemplate:
        existing = await self.owned(request.caller, request.name)
        project_id = request.project_id or project_of(existing)
        await self.projects.get(request.caller, project_id)
        document = await self._prepared(request, project_id)
        # Argo updates by resourceVersion: the caller changes the version they own.
        document["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return to_message(await self.argo.update_template(request.name, document))

    async def get(self, caller: str, name: str) -> dry_runs_pb2.WorkflowTemplate:
        return to_message(await self.owned(caller, name))

    async def delete(self, caller: str, name: str) -> None:
        await self.owned(caller, name)
        await self.argo.delete_template(name)
