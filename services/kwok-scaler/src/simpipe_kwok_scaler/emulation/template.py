"""The Argo template a step's pod runs, as the controller hands it to the
executor (ARGO_TEMPLATE: outputs, archive location, daemon), parsed with
bounds. The controller has already substituted its variables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simpipe_kwok_scaler.emulation.errors import UnusablePodError


@dataclass(frozen=True)
class StepTemplate:
    name: str
    # The template's `outputs`, as written (parameters, artifacts, ...).
    outputs: dict[str, Any]
    archive_location: dict[str, Any]
    daemon: bool

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return [p for p in self.outputs.get("parameters") or [] if isinstance(p, dict)]

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        return [a for a in self.outputs.get("artifacts") or [] if isinstance(a, dict)]

    def reports_outputs(self, include_script_output: bool) -> bool:
        """Whether Argo's executor would report anything the workflow reads:
        output parameters or artifacts, or the captured result when a later
        step refers to it (the exit code the controller takes from the pod)."""
        return bool(self.parameters or self.artifacts or include_script_output)


def step_template(text: str, max_bytes: int) -> StepTemplate:
    if len(text.encode()) > max_bytes:
        raise UnusablePodError("template-too-large", f"the template is over {max_bytes} bytes")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UnusablePodError("bad-template", f"the template is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise UnusablePodError("bad-template", "the template is not a JSON object")
    outputs = document.get("outputs")
    outputs = {} if outputs is None else outputs
    archive = document.get("archiveLocation")
    archive = {} if archive is None else archive
    if not isinstance(outputs, dict) or not isinstance(archive, dict):
        raise UnusablePodError("bad-template", "the template's outputs or archiveLocation")
    for field in ("parameters", "artifacts"):
        items = outputs.get(field)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, dict) for i in items)
        ):
            raise UnusablePodError("bad-template", f"the template's outputs.{field} is not a list")
    return StepTemplate(
        name=str(document.get("name") or ""),
        outputs=outputs,
        archive_location=archive,
        daemon=document.get("daemon") is True,
    )
