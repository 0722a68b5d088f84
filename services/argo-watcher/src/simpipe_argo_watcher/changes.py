"""Which events a change of a dry run produces. Pure: the publisher sends them.

Event ids are deterministic, so a republished state (after a restart, or by a
new leader) is dropped by JetStream's duplicate window and by consumers:
- run phase: "<uid>:<resourceVersion>" of the Workflow version that showed the change;
- step phase: "<uid>:<node id>:<phase>", as a step reaches each phase once.
Step events go out before the run event of the same change: when the run's
last published state is current, so are the terminal phases of its steps
(a step's end moves the run's progress).
"""

from dataclasses import dataclass

from google.protobuf.message import Message

from simpipe.v1 import dry_runs_pb2, events_pb2
from simpipe_argo_watcher.convert import dry_run_phase_name, node_phase_name
from simpipe_argo_watcher.read_model import Change, Snapshot
from simpipe_common.events import event_meta, run_subject, step_subject

SOURCE = "argo-watcher"


@dataclass(frozen=True)
class Event:
    subject: str
    event_id: str
    payload: Message


def run_state(dry_run: dry_runs_pb2.DryRun) -> tuple[str, str, str]:
    """What a run phase event reports: a change of any of it is published."""
    status = dry_run.status
    return dry_run_phase_name(status.phase), status.progress, status.message


def run_phase_event(snapshot: Snapshot) -> Event:
    dry_run = snapshot.dry_run
    event_id = f"{dry_run.uid}:{snapshot.resource_version}"
    phase, progress, message = run_state(dry_run)
    return Event(
        run_subject(dry_run.project_id, dry_run.id, "phase"),
        event_id,
        events_pb2.DryRunPhaseChanged(
            meta=event_meta(event_id, SOURCE),
            dry_run_id=dry_run.id,
            project_id=dry_run.project_id,
            owner=dry_run.owner,
            phase=phase,
            progress=progress,
            message=message,
            resource_version=snapshot.resource_version,
        ),
    )


def step_phase_event(dry_run: dry_runs_pb2.DryRun, node: dry_runs_pb2.DryRunNode) -> Event:
    phase = node_phase_name(node.phase)
    event_id = f"{dry_run.uid}:{node.id}:{phase}"
    return Event(
        step_subject(dry_run.id, node.id),
        event_id,
        events_pb2.StepPhaseChanged(
            meta=event_meta(event_id, SOURCE),
            dry_run_id=dry_run.id,
            project_id=dry_run.project_id,
            node_id=node.id,
            display_name=node.display_name,
            phase=phase,
            exit_code=node.exit_code,
            message=node.message,
        ),
    )


def step_phases(dry_run: dry_runs_pb2.DryRun) -> dict[str, dry_runs_pb2.NodePhase.ValueType]:
    return {node.id: node.phase for node in dry_run.nodes if node.type == "Pod"}


def change_events(change: Change) -> list[Event]:
    """The events of one change seen by the watch; a deletion publishes nothing."""
    current = change.current
    if current is None:
        return []
    previous = change.previous.dry_run if change.previous else None
    before = step_phases(previous) if previous else {}
    events = [
        step_phase_event(current.dry_run, node)
        for node in current.dry_run.nodes
        if node.type == "Pod" and before.get(node.id) != node.phase
    ]
    if previous is None or run_state(previous) != run_state(current.dry_run):
        events.append(run_phase_event(current))
    return events


def current_state_events(snapshot: Snapshot) -> list[Event]:
    """The dry run's state as it is now: every step's phase, then the run's."""
    dry_run = snapshot.dry_run
    return [
        *(step_phase_event(dry_run, node) for node in dry_run.nodes if node.type == "Pod"),
        run_phase_event(snapshot),
    ]
