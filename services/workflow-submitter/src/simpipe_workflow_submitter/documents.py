"""Uploaded Argo documents: YAML or JSON text in, a checked mapping out.

Bounded before parsing (size), parsed without YAML aliases (an alias bomb is
small as text but explodes when expanded to JSON for Argo), and checked for
the kind we expect, so Argo only ever sees a plausible document.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common import validation
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError

ARGO_API_VERSION = "argoproj.io/v1alpha1"
WORKFLOW = "Workflow"
WORKFLOW_TEMPLATE = "WorkflowTemplate"
REASONS = {WORKFLOW: "invalid-argo-workflow", WORKFLOW_TEMPLATE: "invalid-argo-workflow-template"}


class _NoAliasLoader(yaml.SafeLoader):
    # Values stay as written: an unquoted 2026-01-31 stays text, as Argo and
    # Kubernetes read it, rather than becoming a date, which is not JSON.
    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML keeps its rules per class)
        first: [(tag, rule) for tag, rule in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

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


# Argo's rule for parameter and artifact names (workflow/validate).
_ARTIFACT_NAME = re.compile(r"[-a-zA-Z0-9_]{1,253}")


@dataclass(frozen=True)
class ArtifactRepository:
    """S3 as argoexec in a step's pod reaches it. Argo 3.6 completes an
    artifact from its default repository only when the artifact names no
    bucket, so an input in any other bucket must carry all of it."""

    endpoint: str
    insecure: bool
    # A Secret in the workflows' namespace with keys accesskey and secretkey.
    credentials_secret: str

    def s3(self, bucket: str, key: str) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "insecure": self.insecure,
            "bucket": bucket,
            "key": key,
            "accessKeySecret": {"name": self.credentials_secret, "key": "accesskey"},
            "secretKeySecret": {"name": self.credentials_secret, "key": "secretkey"},
        }


def set_input_artifacts(
    document: dict[str, Any],
    artifacts: Iterable[workflow_submitter_pb2.InputArtifact],
    repository: ArtifactRepository,
) -> None:
    """Make each input file the Workflow's argument artifact of its name (over
    one the document named the same), read by the step straight from S3."""
    by_name: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        if not _ARTIFACT_NAME.fullmatch(artifact.name):
            raise InvalidInputError(
                f"input artifact name {artifact.name[:80]!r} is not valid: use 1-253 letters,"
                " digits, '-' and '_'"
            )
        if artifact.name in by_name:
            raise InvalidInputError(f"input artifact {artifact.name!r} is given twice")
        bucket = validation.bucket_name(artifact.bucket, f"input artifact {artifact.name!r} bucket")
        key = validation.key(artifact.key, f"input artifact {artifact.name!r} key")
        by_name[artifact.name] = {"name": artifact.name, "s3": repository.s3(bucket, key)}
    if not by_name:
        return
    arguments = document["spec"].setdefault("arguments", {})
    existing = arguments.get("artifacts") if isinstance(arguments, dict) else None
    if not isinstance(arguments, dict) or not isinstance(existing, list | None):
        raise InvalidArgoDocumentError(
            "the Workflow's spec.arguments.artifacts must be a list", REASONS[WORKFLOW]
        )
    kept = [a for a in existing or [] if not (isinstance(a, dict) and a.get("name") in by_name)]
    arguments["artifacts"] = kept + list(by_name.values())
