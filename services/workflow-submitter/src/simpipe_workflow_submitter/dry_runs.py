"""Dry runs: Argo Workflows created, controlled and deleted for their owner."""

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter

from simpipe.v1 import events_pb2, workflow_submitter_pb2
from simpipe_common.errors import (
    ConflictError,
    InvalidArgoDocumentError,
    InvalidInputError,
    NotFoundError,
)
from simpipe_common.ownership import owner_of, project_of, stamp
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher
from simpipe_workflow_submitter import documents, simulated_steps, validation
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.kube import CustomObjects, call
from simpipe_workflow_submitter.placement import Placements
from simpipe_workflow_submitter.policy import POLICY_ANNOTATION, POLICY_VERSION, Checked, Scope
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.registry_credentials import RegistryCredentials
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
    placements: Placements
    artifact_repository: documents.ArtifactRepository
    # Where runs on virtual nodes live (simulations' copies included), apart
    # from the real nodes' runs in `namespace`.
    simulation_namespace: str
    # The owner's registry logins, named by every run of theirs on real nodes.
    registry_credentials: RegistryCredentials

    async def owned(self, caller: str, dry_run_id: str) -> dict[str, Any]:
        validation.caller(caller)
        validation.dns_label("dry run id", dry_run_id)
        workflow = await self.argo.get_workflow(dry_run_id)
        if owner_of(workflow) != caller:
            raise NotFoundError(f"dry run {dry_run_id} not found")
        return workflow

    async def checked(self, caller: str, dry_run_id: str) -> dict[str, Any]:
        """A dry run of the caller's that the current workflow policy admitted:
        what commands that run its pods again (resubmit, retry, resume) need."""
        workflow = await self.owned(caller, dry_run_id)
        annotations = (workflow.get("metadata") or {}).get("annotations") or {}
        if annotations.get(POLICY_ANNOTATION) != POLICY_VERSION:
            raise InvalidArgoDocumentError(
                f"dry run {dry_run_id} was created before SIM-PIPE's current workflow policy:"
                " create it again",
                documents.REASONS[documents.WORKFLOW],
            )
        return workflow

    async def _project(self, request: workflow_submitter_pb2.CreateDryRunRequest) -> str:
        """The dry run's project: the one asked for (the caller's), else, for
        a run of a template, the template's."""
        if request.document and request.workflow_template_name:
            raise InvalidInputError("give either a workflow document or a workflow template name")
        if not request.document and not request.workflow_template_name:
            raise InvalidInputError(
                "a dry run needs a workflow document or a workflow template name"
            )
        if request.project_id:
            await self.projects.get(request.caller, request.project_id)
            return request.project_id
        if request.workflow_template_name:
            template = await self.templates.owned(request.caller, request.workflow_template_name)
            return project_of(template)
        return ""

    async def _document(
        self, request: workflow_submitter_pb2.CreateDryRunRequest, scope: Scope
    ) -> tuple[dict[str, Any], Checked]:
        """The Workflow, admitted by the workflow policy."""
        intake = self.templates.intake
        if request.document:
            return await intake.admit_text(request.document, documents.WORKFLOW, scope)
        name = request.workflow_template_name
        spec: dict[str, Any] = {"workflowTemplateRef": {"name": name}}
        if request.parameters:
            spec["arguments"] = {
                "parameters": [
                    {"name": k, "value": v} for k, v in sorted(request.parameters.items())
                ]
            }
        document = {
            "apiVersion": documents.ARGO_API_VERSION,
            "kind": documents.WORKFLOW,
            "metadata": {},
            "spec": spec,
        }
        return document, intake.policy.admit(document, documents.WORKFLOW, scope)

    async def create(self, request: workflow_submitter_pb2.CreateDryRunRequest) -> str:
        caller = validation.caller(request.caller)
        simulated = simulated_steps.check_request(request)
        placement = await self.placements.resolve(request.placement, request.sandbox, caller)
        project_id = await self._project(request)
        scope = Scope(caller, project_id)
        document, checked = await self._document(request, scope)
        await self.templates.check_references(checked, scope, documents.WORKFLOW)
        # A run on virtual nodes lives in the simulations' namespace, where
        # the pipelines' WorkflowTemplates are not: it carries its template.
        namespace = self.simulation_namespace if placement.virtual else self.namespace
        if request.workflow_template_name and placement.virtual:
            template = await self.templates.owned(caller, request.workflow_template_name)
            simulated_steps.inline_template(document, template)
        if simulated:
            # The kwok-scaler's copy of a pipeline: its steps' figures on its pods.
            simulated_steps.annotate(document, request.simulated_steps, request.simulation_id)
        # What the service adds after the policy: input files, placement,
        # the project's storage, the owner's registry credentials.
        documents.set_input_artifacts(document, request.input_artifacts, self.artifact_repository)
        placement.apply(document)
        metadata = document["metadata"]
        metadata["namespace"] = namespace
        if request.dry_run_id:
            metadata["name"] = validation.dns_label("dry run id", request.dry_run_id)
            metadata.pop("generateName", None)
        elif metadata.get("name"):
            validation.dns_label("dry run id", str(metadata["name"]))
        elif not metadata.get("generateName"):
            metadata["generateName"] = f"{project_id or 'dry-run'}-"
        # Each is a round trip: made at once.
        await asyncio.gather(
            self.projects.storage.attach(document, caller, project_id, namespace),
            self._not_elsewhere(str(metadata.get("name") or ""), namespace),
            self._pull_secrets(document, caller, placement.virtual),
        )
        stamp(metadata, caller, project_id)
        metadata["annotations"][POLICY_ANNOTATION] = POLICY_VERSION
        try:
            created = await self.argo.create_workflow(document)
        except ConflictError:
            # A retried create with the same id: the same dry run, once.
            existing = await self.argo.get_workflow(str(metadata.get("name")), namespace)
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

    async def _pull_secrets(self, document: dict[str, Any], owner: str, virtual: bool) -> None:
        # A virtual node pulls no image; the Secrets are not in its namespace either.
        if not virtual:
            await self.registry_credentials.pull_secrets(document, owner)

    async def _not_elsewhere(self, name: str, namespace: str) -> None:
        """A run's id names one run: refused when another namespace has it
        (nothing to check for a name Argo is to generate: "")."""
        if not name:
            return
        for other in self.argo.run_namespaces:
            if other != namespace:
                try:
                    await self.argo.get_workflow(name, other)
                except NotFoundError:
                    continue
                raise ConflictError(f"dry run {name} already exists")

    async def resubmit(self, caller: str, dry_run_id: str) -> str:
        original = await self.checked(caller, dry_run_id)
        namespace = namespace_of(original)
        name = await self.argo.resubmit(dry_run_id, namespace)
        # Argo copies the spec, not our labels: the copy belongs where the original did.
        await self._label(name, namespace, caller, project_of(original))
        return name

    async def assign(self, caller: str, dry_run_id: str, project_id: str) -> str:
        workflow = await self.owned(caller, dry_run_id)
        await self.projects.get(caller, project_id)
        await self._label(dry_run_id, namespace_of(workflow), caller, project_id)
        return dry_run_id

    async def _label(self, name: str, namespace: str, caller: str, project_id: str) -> None:
        metadata: dict[str, Any] = {}
        stamp(metadata, caller, project_id)
        patch = {"metadata": metadata}
        await call(
            f"dry run {name}",
            self.custom_objects().patch_namespaced_custom_object,
            "argoproj.io", "v1alpha1", namespace, "workflows", name, patch,
        )  # fmt: skip


def namespace_of(workflow: dict[str, Any]) -> str:
    """Where a Workflow read by Argo.get_workflow lives."""
    return str((workflow.get("metadata") or {}).get("namespace") or "")
