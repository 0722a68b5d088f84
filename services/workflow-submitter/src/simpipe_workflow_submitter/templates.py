"""Workflow templates (pipelines): Argo WorkflowTemplates owned by a caller,
each in one of the caller's projects."""

import json
from dataclasses import dataclass
from typing import Any

from simpipe.v1 import dry_runs_pb2, workflow_submitter_pb2
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError, NotFoundError
from simpipe_common.ownership import owner_of, project_of, stamp
from simpipe_workflow_submitter import documents, validation
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.intake import Intake
from simpipe_workflow_submitter.policy import Checked, Scope
from simpipe_workflow_submitter.projects import ProjectStore

# How many WorkflowTemplates one document may reach, through the templates
# it names and those they name in turn.
MAX_REFERENCED_TEMPLATES = 32


def to_message(template: dict[str, Any]) -> dry_runs_pb2.WorkflowTemplate:
    # The items of a Kubernetes list carry no apiVersion or kind; a client
    # that submits the document it read (the original GUI runs a project's
    # template so) needs them.
    document = {"apiVersion": documents.ARGO_API_VERSION, "kind": documents.WORKFLOW_TEMPLATE}
    return dry_runs_pb2.WorkflowTemplate(
        name=template["metadata"]["name"],
        project_id=project_of(template),
        argo_workflow_template_json=json.dumps(document | template, sort_keys=True),
    )


@dataclass
class Templates:
    argo: Argo
    projects: ProjectStore
    namespace: str
    intake: Intake

    async def owned(self, caller: str, name: str) -> dict[str, Any]:
        validation.caller(caller)
        validation.dns_label("workflow template name", name)
        template = await self.argo.get_template(name)
        if owner_of(template) != caller:
            raise NotFoundError(f"workflow template {name} not found")
        return template

    async def check_references(self, checked: Checked, scope: Scope, kind: str) -> None:
        """The WorkflowTemplates a document names: each the caller's own (someone
        else's is not found), in the document's project, and as stored still
        within the workflow policy; so are the templates they name in turn."""
        reason = documents.REASONS[kind]
        pending = list(checked.template_refs.items())
        seen: set[str] = set()
        while pending:
            name, at = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            if len(seen) > MAX_REFERENCED_TEMPLATES:
                raise InvalidArgoDocumentError(
                    f"workflow policy: {at}: more than {MAX_REFERENCED_TEMPLATES} workflow"
                    " templates are referenced",
                    reason,
                )
            template = await self.owned(scope.owner, name)
            if project_of(template) != scope.project:
                raise InvalidArgoDocumentError(
                    f"workflow policy: {at}: workflow template {name} is not in this"
                    f" {kind.lower()}'s project",
                    reason,
                )
            try:
                nested = self.intake.policy.verify(template, documents.WORKFLOW_TEMPLATE, scope)
            except InvalidArgoDocumentError as error:
                raise InvalidArgoDocumentError(
                    f"{at}: workflow template {name} as stored does not pass the current"
                    f" workflow policy; update it ({error.message})",
                    reason,
                ) from None
            pending.extend((n, f"{at} -> {name}: {p}") for n, p in nested.template_refs.items())

    async def _prepared(
        self, request: workflow_submitter_pb2.WorkflowTemplateRequest, project_id: str
    ) -> dict[str, Any]:
        scope = Scope(request.caller, project_id)
        document, checked = await self.intake.admit_text(
            request.document, documents.WORKFLOW_TEMPLATE, scope
        )
        metadata = document["metadata"]
        name = request.name or metadata.get("name", "")
        if not name:
            raise InvalidInputError("a workflow template needs a name (argument or metadata.name)")
        metadata["name"] = validation.dns_label("workflow template name", str(name))
        metadata.pop("generateName", None)
        metadata["namespace"] = self.namespace
        await self.check_references(checked, scope, documents.WORKFLOW_TEMPLATE)
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
