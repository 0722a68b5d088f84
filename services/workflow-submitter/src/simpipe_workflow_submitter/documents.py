"""Uploaded Argo documents: YAML or JSON text in, a checked mapping out.

Bounded before parsing (size) and while parsing (nesting depth: the parsers
build nested values by recursion), parsed without YAML aliases (an alias
bomb is small as text but explodes when expanded to JSON for Argo), and
checked for the kind we expect, so Argo only ever sees a plausible document.
YAML is read by libyaml (PyYAML's C parser); a large document is read in a
worker thread (off_loop), so that it does not hold up every other request.
"""

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from simpipe.v1 import workflow_submitter_pb2
from simpipe_common import validation
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError

ARGO_API_VERSION = "argoproj.io/v1alpha1"
WORKFLOW = "Workflow"
WORKFLOW_TEMPLATE = "WorkflowTemplate"
REASONS = {WORKFLOW: "invalid-argo-workflow", WORKFLOW_TEMPLATE: "invalid-argo-workflow-template"}
# Documents up to this size are read where they arrive: a thread hop would
# cost more than reading them.
INLINE_BYTES = 32 * 1024

T = TypeVar("T")


class _Loader(yaml.CSafeLoader):
    # Values stay as written: an unquoted 2026-01-31 stays text, as Argo and
    # Kubernetes read it, rather than becoming a date, which is not JSON.
    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML keeps its rules per class)
        first: [(tag, rule) for tag, rule in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True)
class Bounds:
    """How large a document may be: bytes of text, levels of nesting, and
    entries of any one list or mapping."""

    max_bytes: int
    max_depth: int
    max_items: int


def _too_deep(kind: str, bounds: Bounds) -> InvalidInputError:
    return InvalidInputError(
        f"the {kind} document is nested more than {bounds.max_depth} levels deep"
    )


def _too_long(kind: str, bounds: Bounds) -> InvalidInputError:
    return InvalidInputError(
        f"the {kind} document has a list or mapping of more than {bounds.max_items} entries"
    )


def _check_yaml_events(text: str, kind: str, bounds: Bounds) -> None:
    """Aliases, nesting and lengths, seen in libyaml's events before any
    value is built (which costs several times more)."""
    # Per open collection: the nodes in it so far, and how many it may hold.
    open_nodes: list[list[int]] = []
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise InvalidInputError("YAML aliases (*name) are not accepted")
        if isinstance(event, yaml.NodeEvent) and open_nodes:
            counted = open_nodes[-1]
            counted[0] += 1
            if counted[0] > counted[1]:
                raise _too_long(kind, bounds)
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) == bounds.max_depth:
                raise _too_deep(kind, bounds)
            # A mapping's entries are two nodes each.
            per_entry = 2 if isinstance(event, yaml.MappingStartEvent) else 1
            open_nodes.append([0, per_entry * bounds.max_items])
        elif isinstance(event, yaml.CollectionEndEvent):
            open_nodes.pop()


def _check_json_value(data: Any, kind: str, bounds: Bounds) -> None:
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > bounds.max_depth:
            raise _too_deep(kind, bounds)
        if len(children) > bounds.max_items:
            raise _too_long(kind, bounds)
        pending.extend((child, depth + 1) for child in children)


def _load(text: str, kind: str, bounds: Bounds) -> Any:
    invalid = f"the {kind} document is not valid YAML or JSON"
    # JSON (what programs send) parses fastest with json.
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML flow mappings start with "{" too
        except RecursionError:
            raise _too_deep(kind, bounds) from None
        except ValueError as error:  # e.g. an integer of more digits than Python reads
            raise InvalidInputError(f"{invalid}: {error}") from None
        else:
            _check_json_value(data, kind, bounds)
            return data
    try:
        _check_yaml_events(text, kind, bounds)
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except (yaml.YAMLError, ValueError) as error:
        raise InvalidInputError(f"{invalid}: {error}") from None


def parse(text: str, kind: str, bounds: Bounds) -> dict[str, Any]:
    size = len(text.encode())
    if size == 0:
        raise InvalidInputError(f"the {kind} document is empty")
    if size > bounds.max_bytes:
        raise InvalidInputError(
            f"the {kind} document is {size} bytes; the limit is {bounds.max_bytes}"
        )
    data = _load(text, kind, bounds)
    reason = REASONS[kind]
    if not isinstance(data, dict):
        raise InvalidArgoDocumentError(f"the document must be an Argo {kind} mapping", reason)
    if (
        kind == WORKFLOW
        and data.get("kind") == WORKFLOW_TEMPLATE
        and data.get("apiVersion") == ARGO_API_VERSION
    ):
        _template_as_workflow(data)
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


def _template_as_workflow(data: dict[str, Any]) -> None:
    """A WorkflowTemplate given where a Workflow is expected runs as the
    Workflow of the same spec, as the original SIM-PIPE's createDryRun did
    (its GUI sends the project's template as the run's document). Its name
    becomes a prefix: each run of it gets a name of its own."""
    data["kind"] = WORKFLOW
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and "name" in metadata and not metadata.get("generateName"):
        name = metadata.pop("name")
        if isinstance(name, str) and name:
            metadata["generateName"] = f"{name}-"


async def off_loop(text: str, work: Callable[[], T]) -> T:
    """`work` on `text`: in a worker thread when the text is large."""
    if len(text) <= INLINE_BYTES:
        return work()
    return await asyncio.to_thread(work)


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
