"""What the emulation reads from an Argo step's pod, checked: the pod is
written by Argo's controller from a user's document, so every field read
here is validated before it names an object or goes into one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simpipe_kwok_scaler.emulation.errors import UnusablePodError

# Argo's names for what it writes on a step's pod (workflow/common/common.go).
LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
LABEL_COMPLETED = "workflows.argoproj.io/completed"
LABEL_INSTANCE_ID = "workflows.argoproj.io/controller-instanceid"
ANNOTATION_NODE_ID = "workflows.argoproj.io/node-id"
ANNOTATION_NODE_NAME = "workflows.argoproj.io/node-name"
ENV_TEMPLATE = "ARGO_TEMPLATE"
ENV_INCLUDE_SCRIPT_OUTPUT = "ARGO_INCLUDE_SCRIPT_OUTPUT"
# The value of ARGO_TEMPLATE when the template is too large for an
# environment variable: it is then in a ConfigMap named after the pod.
TEMPLATE_OFFLOADED = "offloaded"
ARGO_INIT_CONTAINER = "init"

# The submitter's annotations on simulated pods (shared decisions).
ANNOTATION_SIM_OUTPUTS = "simpipe.io/sim-outputs"
# How long KWOK keeps the pod running (kwok-pod-stages.yaml: the finishing
# Stages' delay, read again whenever the pod changes).
ANNOTATION_SIM_DURATION = "simpipe.io/sim-duration"
# Ours: a daemon pod held running until its workflow lets it go, and why it
# was then ended.
ANNOTATION_SIM_DAEMON = "simpipe.io/sim-daemon"
ANNOTATION_SIM_STOP = "simpipe.io/sim-stop"
# How long an ended daemon ran (a Go duration): its usage series end there
# (kwok-usage.yaml), as it had no simulated duration of its own.
ANNOTATION_SIM_RAN = "simpipe.io/sim-ran"
# A daemon's duration while held: longer than any run (Argo's own deadlines
# end runs far sooner), so only its end (a duration of 0) finishes it.
DAEMON_HOLD = "87600h"
DAEMON_END = "0s"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_UID = re.compile(r"^[0-9a-fA-F-]{1,64}$")


@dataclass(frozen=True)
class StepPod:
    """An Argo step's pod, as far as the emulation needs it."""

    namespace: str
    name: str
    uid: str
    workflow: str
    workflow_uid: str
    node_id: str
    node_name: str  # "" until scheduled
    # The node kind the pod's required nodeSelector asks for ("" if none).
    selected_node_kind: str
    phase: str
    started_at: datetime | None  # status.startTime, once KWOK started it
    deleting: bool
    completed_label: bool
    instance_id: str
    annotations: Mapping[str, str]
    template_text: str  # ARGO_TEMPLATE as set on Argo's init container
    include_script_output: bool

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def node_name_annotation(self) -> str:
        """Argo's name of the step's node, e.g. `wf[0].flip-coin`."""
        return self.annotations.get(ANNOTATION_NODE_NAME, "")

    @property
    def template_offloaded(self) -> bool:
        return self.template_text == TEMPLATE_OFFLOADED

    @property
    def running_or_before(self) -> bool:
        return self.phase in ("", "Pending", "Running") and not self.deleting


def is_step_pod(pod: Mapping[str, Any]) -> bool:
    """A pod Argo's controller made for a Workflow's step (it carries the
    workflow label and its Workflow as controlling owner)."""
    metadata = pod.get("metadata") or {}
    return (
        LABEL_WORKFLOW in (metadata.get("labels") or {}) and _workflow_owner(metadata) is not None
    )


def step_pod(pod: Mapping[str, Any], node_kind_label: str) -> StepPod:
    """The pod's fields, checked; UnusablePodError when they are not what
    Argo writes."""
    metadata = _mapping(pod.get("metadata"), "metadata")
    spec = _mapping(pod.get("spec"), "spec")
    status = pod.get("status") or {}
    labels = _strings(metadata.get("labels"), "labels")
    annotations = _strings(metadata.get("annotations"), "annotations")
    owner = _workflow_owner(metadata)
    if owner is None:
        raise UnusablePodError("not-a-step", "the pod is not controlled by a Workflow")
    workflow = labels.get(LABEL_WORKFLOW, "")
    if workflow != owner.get("name") or not _DNS_SUBDOMAIN.match(workflow):
        raise UnusablePodError("bad-workflow", "the workflow label does not name the pod's owner")
    workflow_uid = str(owner.get("uid") or "")
    if not _UID.match(workflow_uid):
        raise UnusablePodError("bad-workflow", "the pod's Workflow owner has no valid uid")
    node_id = annotations.get(ANNOTATION_NODE_ID, "")
    if not _DNS_SUBDOMAIN.match(node_id):
        raise UnusablePodError("bad-node-id", "the pod has no valid Argo node id")
    instance_id = labels.get(LABEL_INSTANCE_ID, "")
    if not _LABEL_VALUE.match(instance_id):
        raise UnusablePodError("bad-instance-id", "the controller instance id is not a label value")
    node_selector = spec.get("nodeSelector") or {}
    selected = node_selector.get(node_kind_label, "") if isinstance(node_selector, Mapping) else ""
    template_text, include_script_output = _argo_environment(spec)
    return StepPod(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        uid=str(metadata.get("uid") or ""),
        workflow=workflow,
        workflow_uid=workflow_uid,
        node_id=node_id,
        node_name=str(spec.get("nodeName") or ""),
        selected_node_kind=str(selected) if isinstance(selected, str) else "",
        phase=str(status.get("phase") or "") if isinstance(status, Mapping) else "",
        started_at=_time(status.get("startTime") if isinstance(status, Mapping) else None),
        deleting=bool(metadata.get("deletionTimestamp")),
        completed_label=labels.get(LABEL_COMPLETED) == "true",
        instance_id=instance_id,
        annotations=annotations,
        template_text=template_text,
        include_script_output=include_script_output,
    )


def _workflow_owner(metadata: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for owner in metadata.get("ownerReferences") or []:
        if (
            isinstance(owner, Mapping)
            and owner.get("kind") == "Workflow"
            and str(owner.get("apiVersion", "")).startswith("argoproj.io/")
            and owner.get("controller") is True
        ):
            return owner
    return None


def _argo_environment(spec: Mapping[str, Any]) -> tuple[str, bool]:
    """ARGO_TEMPLATE and ARGO_INCLUDE_SCRIPT_OUTPUT of Argo's `init`
    container (the controller sets the template on init containers only)."""
    for container in spec.get("initContainers") or []:
        if not isinstance(container, Mapping) or container.get("name") != ARGO_INIT_CONTAINER:
            continue
        env = {
            str(item.get("name")): item.get("value")
            for item in container.get("env") or []
            if isinstance(item, Mapping)
        }
        template = env.get(ENV_TEMPLATE)
        if not isinstance(template, str) or not template:
            break
        return template, env.get(ENV_INCLUDE_SCRIPT_OUTPUT) == "true"
    raise UnusablePodError("no-template", "the pod has no Argo init container with its template")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnusablePodError("malformed", f"the pod's {what} is not an object")
    return value


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UnusablePodError("malformed", f"the pod's {what} are not strings")
    return dict(value)
