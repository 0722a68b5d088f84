"""A simulated run's per-step figures, written where KWOK reads them.

The kwok-scaler creates each copy of a simulation as a dry run on a virtual
pool, with each step's figures (duration already divided by the time scale,
usage, outputs, exit code). They become `simpipe.io/sim-*` annotations on
the named pod templates (Argo copies a template's metadata onto its pods;
the pod Stages and the usage emulation in deploy/local/manifests read them),
and the run carries the Workflow label `simpipe.io/simulation`.

A run of a WorkflowTemplate is resolved first: Argo refuses a Workflow that
has both a `workflowTemplateRef` and templates of its own, so the
template's spec is copied into the Workflow and the request's parameters
set over the template's defaults (what Argo's own merge does).
"""

import copy
import json
import math
from collections.abc import Sequence
from typing import Any

from simpipe.v1 import kwok_scaler_pb2, workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError
from simpipe_workflow_submitter import validation

pb = workflow_submitter_pb2

SIMULATION_LABEL = "simpipe.io/simulation"
STEP_ANNOTATION = "simpipe.io/sim-step"
DURATION = "simpipe.io/sim-duration"
EXIT_CODE = "simpipe.io/sim-exit-code"
CPU = "simpipe.io/sim-cpu"
MEMORY = "simpipe.io/sim-memory"
NETWORK_RECEIVE = "simpipe.io/sim-network-receive"
NETWORK_TRANSMIT = "simpipe.io/sim-network-transmit"
FS_READ = "simpipe.io/sim-fs-read"
FS_WRITE = "simpipe.io/sim-fs-write"
OUTPUTS = "simpipe.io/sim-outputs"

# Templates whose steps are pods (the only ones KWOK plays).
POD_TEMPLATE_KINDS = ("container", "script", "containerSet")

# Bounds of what one request may carry: a pipeline's steps, and figures a
# real step could have (a year of run time, a very large node's resources).
MAX_STEPS = 500
MAX_SECONDS = 365 * 24 * 3600.0
MAX_CPU_CORES = 10_000.0
MAX_MEMORY_BYTES = 1e15
MAX_RATE_BYTES_PER_SECOND = 1e13
MAX_OUTPUTS = 64
MAX_OUTPUT_NAME_LENGTH = 128
# Kubernetes bounds a pod's annotations to 256 KiB altogether.
MAX_OUTPUTS_JSON_BYTES = 128 * 1024
MAX_EXIT_CODE = 255


def _finite(step: str, field: str, value: float, limit: float) -> float:
    if not math.isfinite(value) or value < 0 or value > limit:
        raise InvalidInputError(
            f"simulated step {step!r}: {field} must be a finite number from 0 to {limit:g},"
            f" not {value!r}"
        )
    return value


def _output_name(step: str, name: str) -> str:
    # Argo's parameter names: letters, digits, '-' and '_'.
    if (
        not name
        or len(name) > MAX_OUTPUT_NAME_LENGTH
        or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    ):
        raise InvalidInputError(
            f"simulated step {step!r}: output parameter name {name[:80]!r} is not valid:"
            f" use 1-{MAX_OUTPUT_NAME_LENGTH} letters, digits, '-' and '_'"
        )
    return name


def go_duration(seconds: float) -> str:
    """Seconds as a Go duration, to the millisecond ("2.5s", "0s")."""
    millis = round(seconds * 1000)
    whole, rest = divmod(millis, 1000)
    return f"{whole}.{rest:03d}s".replace(".000s", "s") if rest else f"{whole}s"


def quantity(value: float) -> str:
    """A Kubernetes quantity: an integer, else thousandths ("500m"); CEL's
    Quantity() and KWOK read both."""
    if value == int(value):
        return str(int(value))
    return f"{round(value * 1000)}m"


def cpu_quantity(cores: float) -> str:
    """Cores in nanocores where they are not whole, so a measured 0.0004
    cores stays non-zero."""
    if cores == int(cores):
        return str(int(cores))
    return f"{round(cores * 1e9)}n"


def annotations(figures: kwok_scaler_pb2.StepFigures) -> dict[str, str]:
    """The pod annotations of one step's (already validated) figures."""
    found = {
        STEP_ANNOTATION: figures.step,
        DURATION: go_duration(figures.seconds),
        EXIT_CODE: str(figures.exit_code),
        CPU: cpu_quantity(figures.cpu_cores),
        MEMORY: quantity(round(figures.memory_bytes)),
        NETWORK_RECEIVE: quantity(figures.network_receive_bytes_per_second),
        NETWORK_TRANSMIT: quantity(figures.network_transmit_bytes_per_second),
        FS_READ: quantity(figures.fs_read_bytes_per_second),
        FS_WRITE: quantity(figures.fs_write_bytes_per_second),
    }
    if figures.output_parameters:
        found[OUTPUTS] = json.dumps(dict(sorted(figures.output_parameters.items())))
    return found


def check_figures(figures: kwok_scaler_pb2.StepFigures) -> None:
    step = figures.step
    if not step or len(step) > MAX_OUTPUT_NAME_LENGTH:
        raise InvalidInputError(
            f"simulated step: a template name of 1-{MAX_OUTPUT_NAME_LENGTH} characters is needed"
        )
    _finite(step, "seconds", figures.seconds, MAX_SECONDS)
    _finite(step, "cpu_cores", figures.cpu_cores, MAX_CPU_CORES)
    _finite(step, "memory_bytes", figures.memory_bytes, MAX_MEMORY_BYTES)
    for field in (
        "network_receive_bytes_per_second",
        "network_transmit_bytes_per_second",
        "fs_read_bytes_per_second",
        "fs_write_bytes_per_second",
    ):
        _finite(step, field, getattr(figures, field), MAX_RATE_BYTES_PER_SECOND)
    if not 0 <= figures.exit_code <= MAX_EXIT_CODE:
        raise InvalidInputError(
            f"simulated step {step!r}: exit_code must be 0-{MAX_EXIT_CODE}, not {figures.exit_code}"
        )
    if len(figures.output_parameters) > MAX_OUTPUTS:
        raise InvalidInputError(f"simulated step {step!r}: at most {MAX_OUTPUTS} output parameters")
    for name in figures.output_parameters:
        _output_name(step, name)
    size = len(json.dumps(dict(figures.output_parameters)).encode())
    if size > MAX_OUTPUTS_JSON_BYTES:
        raise InvalidInputError(
            f"simulated step {step!r}: output parameter values take {size} bytes,"
            f" at most {MAX_OUTPUTS_JSON_BYTES}"
        )


def check_request(request: pb.CreateDryRunRequest) -> bool:
    """Whether the request is a simulated run; its simulation fields are
    refused unless it is placed on virtual nodes."""
    simulated = bool(request.simulated_steps) or bool(request.simulation_id)
    if not simulated:
        return False
    if request.placement.nodes != pb.NODES_VIRTUAL:
        raise InvalidInputError(
            "simulated_steps and simulation_id need placement on VIRTUAL nodes:"
            " only KWOK's nodes play simulated steps"
        )
    if request.simulation_id:
        validation.dns_label("simulation id", request.simulation_id)
    if len(request.simulated_steps) > MAX_STEPS:
        raise InvalidInputError(f"at most {MAX_STEPS} simulated steps")
    seen: set[str] = set()
    for figures in request.simulated_steps:
        check_figures(figures)
        if figures.step in seen:
            raise InvalidInputError(f"simulated step {figures.step!r} is given twice")
        seen.add(figures.step)
    return True


def _merged_parameters(
    defaults: Sequence[dict[str, Any]], given: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    values = {str(p.get("name")): p for p in given}
    merged = [dict(values.pop(str(p.get("name")), p)) for p in defaults]
    return merged + list(values.values())


def inline_template(document: dict[str, Any], template: dict[str, Any]) -> None:
    """Replaces the Workflow's `workflowTemplateRef` with the template's spec."""
    spec = document["spec"]
    if "workflowTemplateRef" not in spec:
        return
    resolved = copy.deepcopy(template.get("spec") or {})
    given = (spec.get("arguments") or {}).get("parameters") or []
    defaults = (resolved.get("arguments") or {}).get("parameters") or []
    if given or defaults:
        resolved.setdefault("arguments", {})["parameters"] = _merged_parameters(defaults, given)
    for key, value in spec.items():
        if key not in ("workflowTemplateRef", "arguments"):
            resolved[key] = value
    document["spec"] = resolved


def annotate(
    document: dict[str, Any], steps: Sequence[kwok_scaler_pb2.StepFigures], simulation_id: str
) -> None:
    """Writes the figures onto the named pod templates and the simulation
    label onto the Workflow. A name that is not a pod template of the
    (resolved) Workflow is refused."""
    templates = {
        str(t.get("name")): t
        for t in document["spec"].get("templates") or []
        if isinstance(t, dict)
    }
    for figures in steps:
        template = templates.get(figures.step)
        if template is None:
            raise InvalidInputError(
                f"simulated step {figures.step!r} is not a template of the workflow"
                f" (its templates: {', '.join(sorted(templates)) or 'none'})"
            )
        if not any(kind in template for kind in POD_TEMPLATE_KINDS):
            raise InvalidInputError(
                f"simulated step {figures.step!r} is not a pod template (container, script or"
                " containerSet): only those run as pods"
            )
        metadata = template.setdefault("metadata", {})
        metadata.setdefault("annotations", {}).update(annotations(figures))
    if simulation_id:
        metadata = document.setdefault("metadata", {})
        metadata.setdefault("labels", {})[SIMULATION_LABEL] = simulation_id
