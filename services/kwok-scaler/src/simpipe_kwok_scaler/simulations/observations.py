"""What the apiserver showed of a simulation's pods, stamped with our own
clock as each change arrived (Kubernetes' own timestamps are whole seconds).

Kept as plain data: checkpointed into the simulation's record and replayed
into the simulated timeline (replay.py)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simpipe_kwok_scaler.simulations.quantities import cpu_cores, memory_bytes

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
STEP_ANNOTATION = "simpipe.io/sim-step"
TERMINAL_POD_PHASES = ("Succeeded", "Failed")


@dataclass
class PodObservation:
    name: str
    workflow: str
    template: str = ""
    node_id: str = ""
    display_name: str = ""
    cpu_request: float = 0.0
    memory_request: float = 0.0
    # Wall-clock Unix seconds.
    created: float | None = None
    scheduled: float | None = None
    running: float | None = None
    finished: float | None = None
    node: str = ""
    phase: str = "Pending"
    exit_code: int | None = None
    # The scheduler's latest words when it could not place the pod (kept
    # after it did), and when they last changed.
    unschedulable: str = ""
    unschedulable_at: float | None = None
    # Times taken from the pod's status (whole seconds) because our watch did
    # not see the change happen (e.g. the scaler was down).
    from_status: bool = False

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def pending(self) -> bool:
        """Waiting for a node."""
        return not self.node and self.finished is None


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _requests(spec: dict[str, Any]) -> tuple[float, float]:
    """The pod's effective requests as the scheduler counts them: the sum
    over its containers, or the largest init container's if larger."""
    cpu = memory = 0.0
    for container in spec.get("containers") or ():
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += cpu_cores(str(requests.get("cpu", "0")))
        memory += memory_bytes(str(requests.get("memory", "0")))
    for container in spec.get("initContainers") or ():
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu = max(cpu, cpu_cores(str(requests.get("cpu", "0"))))
        memory = max(memory, memory_bytes(str(requests.get("memory", "0"))))
    return cpu, memory


def _template(pod: dict[str, Any]) -> str:
    """The pod's Argo template name: ours when the step had figures, else
    the one Argo writes into its containers' ARGO_TEMPLATE."""
    annotations = pod["metadata"].get("annotations") or {}
    if annotations.get(STEP_ANNOTATION):
        return str(annotations[STEP_ANNOTATION])
    for container in (pod.get("spec") or {}).get("containers") or ():
        for env in container.get("env") or ():
            if env.get("name") == "ARGO_TEMPLATE":
                try:
                    return str(json.loads(env.get("value") or "{}").get("name") or "")
                except ValueError:
                    return ""
    return ""


def observe(previous: PodObservation | None, pod: dict[str, Any], now: float) -> PodObservation:
    """The observation after seeing `pod` (a watch event's object) at `now`."""
    metadata = pod["metadata"]
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    seen = previous
    if seen is None:
        annotations = metadata.get("annotations") or {}
        cpu, memory = _requests(spec)
        node_name = str(annotations.get(NODE_NAME_ANNOTATION, ""))
        seen = PodObservation(
            name=str(metadata["name"]),
            workflow=str((metadata.get("labels") or {}).get(WORKFLOW_LABEL, "")),
            template=_template(pod),
            node_id=str(annotations.get(NODE_ID_ANNOTATION, "")),
            display_name=node_name.rsplit(".", 1)[-1] if node_name else str(metadata["name"]),
            cpu_request=cpu,
            memory_request=memory,
            created=now,
        )
    phase = str(status.get("phase") or "Pending")
    node = str(spec.get("nodeName") or "")
    if node and not seen.node:
        seen.node = node
        seen.scheduled = now
    for condition in status.get("conditions") or ():
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            message = str(condition.get("message") or "Unschedulable")
            if message != seen.unschedulable:
                # When the scheduler last said something new: its latest
                # words are the reason, once they have held a while.
                seen.unschedulable_at = now
            seen.unschedulable = message
    if phase in ("Running", *TERMINAL_POD_PHASES) and seen.running is None:
        seen.running = now
    if phase in TERMINAL_POD_PHASES and seen.finished is None:
        seen.finished = now
        seen.exit_code = _exit_code(status)
    seen.phase = phase
    return seen


def from_status(pod: dict[str, Any]) -> PodObservation:
    """An observation made only from the pod's own timestamps (whole
    seconds): for pods whose changes our watch missed."""
    metadata = pod["metadata"]
    status = pod.get("status") or {}
    created = _timestamp(metadata.get("creationTimestamp"))
    seen = observe(None, pod, created or 0.0)
    seen.from_status = True
    seen.created = created
    for condition in status.get("conditions") or ():
        when = _timestamp(condition.get("lastTransitionTime"))
        if condition.get("type") == "PodScheduled" and condition.get("status") == "True":
            seen.scheduled = when
    seen.running = _timestamp(status.get("startTime")) if seen.running else None
    if seen.finished is not None:
        ends = [
            _timestamp(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            for c in status.get("containerStatuses") or ()
        ]
        found = [end for end in ends if end is not None]
        seen.finished = max(found) if found else seen.running
    return seen


def _exit_code(status: dict[str, Any]) -> int | None:
    for container in status.get("containerStatuses") or ():
        terminated = (container.get("state") or {}).get("terminated")
        if container.get("name") == "main" and terminated:
            return int(terminated.get("exitCode", 0))
    return None


def dump(observations: dict[str, PodObservation]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(o) for o in observations.values()]


def load(rows: list[dict[str, Any]]) -> dict[str, PodObservation]:
    names = {f.name for f in dataclasses.fields(PodObservation)}
    found = {}
    for row in rows:
        seen = PodObservation(**{k: v for k, v in row.items() if k in names})
        found[seen.name] = seen
    return found


@dataclass
class WorkflowObservation:
    name: str
    phase: str = ""
    finished: float | None = None
    message: str = ""
