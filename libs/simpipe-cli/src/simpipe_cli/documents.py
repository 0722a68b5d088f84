"""Pipeline documents from files: YAML or JSON, a Workflow or a
WorkflowTemplate, checked enough to say what is wrong in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class DocumentError(ValueError):
    """The file is no pipeline document."""


KINDS = ("Workflow", "WorkflowTemplate")


def read_document(path: Path) -> dict[str, Any]:
    text = path.read_text()
    try:
        document: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise DocumentError(f"{path}: not YAML or JSON: {str(error).splitlines()[0]}") from None
    if not isinstance(document, dict) or document.get("kind") not in KINDS:
        raise DocumentError(f"{path}: not an Argo Workflow or WorkflowTemplate (kind: ...)")
    return document


def as_workflow(document: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """A Workflow to dry-run from a Workflow or WorkflowTemplate document, its
    arguments' parameters set to `parameters`."""
    workflow: dict[str, Any] = json.loads(json.dumps(document))
    if workflow["kind"] == "WorkflowTemplate":
        metadata = workflow.get("metadata") or {}
        name = metadata.get("name") or metadata.get("generateName", "pipeline-").rstrip("-")
        workflow["kind"] = "Workflow"
        workflow["metadata"] = {"generateName": f"{name}-"}
    if parameters:
        arguments = workflow.setdefault("spec", {}).setdefault("arguments", {})
        listed = arguments.setdefault("parameters", [])
        for name, value in parameters.items():
            found = next((p for p in listed if p.get("name") == name), None)
            if found is None:
                listed.append({"name": name, "value": value})
            else:
                found["value"] = value
    return workflow


def key_values(pairs: list[str], what: str) -> dict[str, str]:
    """`k=v` pairs as a dict; a pair without `=` is bad input."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise DocumentError(f"{what} {pair!r}: expected NAME=VALUE")
        found[name] = value
    return found
