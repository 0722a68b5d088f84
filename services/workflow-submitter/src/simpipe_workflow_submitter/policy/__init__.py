"""SIM-PIPE's workflow policy: every Workflow and WorkflowTemplate a user
submits (templates on create and update, dry runs from a document or a
template) passes it before Argo sees it.

It is an allowlist (workflow_fields.py and the modules it uses): a field it
does not name is refused with an InvalidArgoDocumentError that names the
field's path. Admitting a document also sets what the service decides: the
workflow's service accounts and pod security defaults (pod_security.py).
Names that reach beyond the document are checked against its scope
(scope.py); the WorkflowTemplates it references are returned, for the
caller to check against the cluster. Behind it: the controller's
workflowDefaults (the same accounts and pod security) and Pod Security
Admission `restricted` on the workflows namespace. Argo's
`templateReferencing: Strict/Secure` cannot be one: the controller then
runs only Workflows that reference a WorkflowTemplate, and createDryRun
takes whole Workflow documents.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simpipe_common.errors import InvalidArgoDocumentError
from simpipe_workflow_submitter.config import WorkflowPolicySettings
from simpipe_workflow_submitter.documents import REASONS
from simpipe_workflow_submitter.policy.kube_fields import check_mounts
from simpipe_workflow_submitter.policy.metadata import POLICY_ANNOTATION, POLICY_VERSION
from simpipe_workflow_submitter.policy.rules import RefusedError, Walk, render
from simpipe_workflow_submitter.policy.scope import Scope
from simpipe_workflow_submitter.policy.workflow_fields import DOCUMENT

__all__ = ["POLICY_ANNOTATION", "POLICY_VERSION", "Checked", "Scope", "WorkflowPolicy"]


@dataclass(frozen=True)
class Checked:
    # The WorkflowTemplates a document names, each with the path it is first named at.
    template_refs: Mapping[str, str]


@dataclass(frozen=True)
class WorkflowPolicy:
    settings: WorkflowPolicySettings

    def admit(self, document: dict[str, Any], kind: str, scope: Scope) -> Checked:
        """A document as a user submits it: refused, or completed in place
        with the service's defaults."""
        return self._check(document, kind, scope, fill=True)

    def verify(self, document: dict[str, Any], kind: str, scope: Scope) -> Checked:
        """A document stored earlier (a template a dry run names), as it is:
        a default it lacks is refused too, since nothing would set it now."""
        return self._check(document, kind, scope, fill=False)

    def _check(self, document: dict[str, Any], kind: str, scope: Scope, fill: bool) -> Checked:
        walk = Walk(scope, self.settings, fill)
        try:
            DOCUMENT.check(document, (), walk)
            check_mounts(walk)
        except RefusedError as refused:
            raise InvalidArgoDocumentError(f"workflow policy: {refused}", REASONS[kind]) from None
        return Checked({name: render(at) for name, at in walk.template_refs.items()})
