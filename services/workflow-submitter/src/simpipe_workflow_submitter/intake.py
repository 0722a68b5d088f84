"""Documents users submit: parsed within bounds, then admitted by the
workflow policy, in a worker thread when they are large."""

from dataclasses import dataclass
from typing import Any

from simpipe_workflow_submitter import documents
from simpipe_workflow_submitter.policy import Checked, Scope, WorkflowPolicy


@dataclass(frozen=True)
class Intake:
    policy: WorkflowPolicy
    bounds: documents.Bounds

    async def admit_text(
        self, text: str, kind: str, scope: Scope
    ) -> tuple[dict[str, Any], Checked]:
        def work() -> tuple[dict[str, Any], Checked]:
            document = documents.parse(text, kind, self.bounds)
            return document, self.policy.admit(document, kind, scope)

        return await documents.off_loop(text, work)
