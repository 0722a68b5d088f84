"""The outputs Argo's executor would report for a step that ran on a virtual
node: what its `wait` container writes into the step's WorkflowTaskResult
(argoexec's SaveParameters, CaptureScriptResult, SaveArtifacts). Pure.

Values come from the simulation (the simpipe.io/sim-outputs annotation: the
reference run's values, so `when` branches and loops go the way the real run
went), else the template's default, else a placeholder. Artifacts get the
key the executor would have uploaded them to, so later steps' inputs
resolve; nothing is uploaded (no step on a virtual node reads them).
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from simpipe_kwok_scaler.emulation.errors import UnusablePodError
from simpipe_kwok_scaler.emulation.template import StepTemplate

# Argo's parameter names (workflow/validate: `^[-a-zA-Z0-9_]+$`).
_PARAMETER_NAME = re.compile(r"^[-a-zA-Z0-9_]{1,253}$")
# The artifact location kinds whose key a saved artifact gets, and the field
# holding it (the executor sets a key only on these).
KEY_FIELDS = {"s3": "key", "gcs": "key", "oss": "key", "azure": "blob", "hdfs": "path"}
LOCATION_KINDS = (
    "s3", "gcs", "oss", "azure", "hdfs", "artifactory", "http", "git", "raw",
)  # fmt: skip
# The simulation's name for a script's captured stdout, when no output
# parameter of that name exists.
RESULT = "result"


def simulated_values(annotation: str | None, max_bytes: int) -> dict[str, str]:
    """The simpipe.io/sim-outputs annotation: a JSON object of output names
    and values. Non-string values (a list a loop iterates over) are kept as
    compact JSON text, the way a step would have printed them."""
    if annotation is None:
        return {}
    if len(annotation.encode()) > max_bytes:
        raise UnusablePodError("sim-outputs-too-large", f"sim-outputs is over {max_bytes} bytes")
    try:
        document = json.loads(annotation)
    except ValueError as error:
        raise UnusablePodError("bad-sim-outputs", f"sim-outputs is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise UnusablePodError("bad-sim-outputs", "sim-outputs is not a JSON object")
    values: dict[str, str] = {}
    for name, value in document.items():
        if not _PARAMETER_NAME.match(name):
            raise UnusablePodError("bad-sim-outputs", f"sim-outputs: {name[:64]!r} is not a name")
        if value is None:
            raise UnusablePodError("bad-sim-outputs", f"sim-outputs: {name} has no value")
        values[name] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return values


def needs_values(
    template: StepTemplate, values: Mapping[str, str], include_script_output: bool
) -> bool:
    """Whether some output would get the placeholder: neither recorded nor
    given a default by the template."""
    if include_script_output and RESULT not in values:
        return True
    for parameter in template.parameters:
        value_from = parameter.get("valueFrom")
        if (
            isinstance(value_from, Mapping)
            and value_from.get("path")
            and value_from.get("default") is None
            and str(parameter.get("name", "")) not in values
        ):
            return True
    return False


def emulated_outputs(
    template: StepTemplate,
    values: Mapping[str, str],
    include_script_output: bool,
    placeholder: str,
    branches: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `outputs` of the step's WorkflowTaskResult. `values` are the
    recorded ones; `branches` (branches.py) stand in where neither a value
    nor a default is known, before the placeholder."""
    branches = branches or {}
    outputs = copy.deepcopy(template.outputs)
    parameters = [_parameter(p, values, branches, placeholder) for p in template.parameters]
    if parameters:
        outputs["parameters"] = parameters
    artifacts = [_artifact(a, template.archive_location) for a in template.artifacts]
    if artifacts:
        outputs["artifacts"] = artifacts
    if include_script_output:
        outputs["result"] = values.get(RESULT, branches.get(RESULT, placeholder))
    outputs.pop("exitCode", None)  # the controller takes it from the pod
    return outputs


def _parameter(
    parameter: Mapping[str, Any],
    values: Mapping[str, str],
    branches: Mapping[str, str],
    placeholder: str,
) -> dict[str, Any]:
    """A path-based parameter gets its value as the executor reads a file;
    others (a plain value, or one the controller resolves: supplied,
    configMapKeyRef, expression...) stay as the template has them."""
    reported = dict(parameter)
    value_from = parameter.get("valueFrom")
    if not isinstance(value_from, Mapping) or not value_from.get("path"):
        return reported
    name = str(parameter.get("name", ""))
    default = value_from.get("default")
    if name in values:
        reported["value"] = values[name]
    elif default is not None:
        reported["value"] = str(default)
    else:
        reported["value"] = branches.get(name, placeholder)
    return reported


def _artifact(artifact: Mapping[str, Any], archive_location: Mapping[str, Any]) -> dict[str, Any]:
    """An output artifact as the executor records it after uploading it:
    one with its own key keeps it; the others get the archive location's
    kind and key joined with the file name argoexec uploads
    (`<name>.tgz`, `<name>.zip`, or the path's base name unarchived)."""
    reported = dict(artifact)
    if _own_key(artifact):
        return reported
    kind = next((k for k in KEY_FIELDS if isinstance(archive_location.get(k), Mapping)), None)
    if kind is None:
        return reported  # no repository to save to: recorded without a location
    base = str(archive_location[kind].get(KEY_FIELDS[kind]) or "")
    for other in LOCATION_KINDS:
        reported.pop(other, None)
    reported[kind] = {KEY_FIELDS[kind]: posixpath.join(base, _file_name(artifact))}
    return reported


def _own_key(artifact: Mapping[str, Any]) -> bool:
    for kind, field in KEY_FIELDS.items():
        location = artifact.get(kind)
        if isinstance(location, Mapping) and location.get(field):
            return True
    return False


def _file_name(artifact: Mapping[str, Any]) -> str:
    name = str(artifact.get("name", ""))
    archive = artifact.get("archive")
    if isinstance(archive, Mapping):
        if "none" in archive:
            return posixpath.basename(str(artifact.get("path", "")).rstrip("/")) or name
        if "zip" in archive:
            return f"{name}.zip"
    return f"{name}.tgz"
