"""Uploaded Argo documents: YAML or JSON text in, a checked mapping out.

Bounded before parsing (size), parsed without YAML aliases (an alias bomb is
small as text but explodes when expanded to JSON for Argo), and checked for
the kind we expect, so Argo only ever sees a plausible document.
"""

import json
from typing import Any

import yaml

from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError

ARGO_API_VERSION = "argoproj.io/v1alpha1"
WORKFLOW = "Workflow"
WORKFLOW_TEMPLATE = "WorkflowTemplate"
REASONS = {WORKFLOW: "invalid-argo-workflow", WORKFLOW_TEMPLATE: "invalid-argo-workflow-template"}


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError("YAML aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def _load(text: str, kind: str) -> Any:
    # JSON (what programs send) parses in C; YAML (what people write) in
    # PyYAML, an order of magnitude slower.
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML flow mappings start with "{" too
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # _NoAliasLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise InvalidInputError(f"the {kind} document is not valid YAML or JSON: {error}") from None


def parse(text: str, kind: str, max_bytes: int) -> dict[str, Any]:
    size = len(text.encode())
    if size == 0:
        raise InvalidInputError(f"the {kind} document is empty")
    if size > max_bytes:
        raise InvalidInputError(f"the {kind} document is {size} bytes; the limit is {max_bytes}")
    data = _load(text, kind)
    reason = REASONS[kind]
    if not isinstance(data, dict):
        raise InvalidArgoDocumentError(f"the document must be an Argo {kind} mapping", reason)
    if data.get("apiVersion") != ARGO_API_VERSION or data.get("kind") != kind:
        raise InvalidArgoDocumentError(
            f"expected apiVersion {ARGO_API_VERSION} and kind {kind}, got "
            f"{data.get('apiVersion')!r} and {data.get('kind')!r}",
            reason,
        )
    if not isinstance(data.get("spec"), dict):
        raise InvalidArgoDocumentError(f"the {kind} has no spec", reason)
    metadata = data.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidArgoDocumentError(f"the {kind}'s metadata must be a mapping", reason)
    return data
