"""Which events a change of a dry run produces. Pure: the publisher sends them.

Event ids are deterministic, so a republished state (after a restart, or by a
new leader) is dropped by JetStream's duplicate window and by consumers:
- run phase: "<uid>:<resourceVersion>" of the Workflow version that showed the change;
- step phase: "<uid>:<node id>:<phase name>", as a step reaches each phase once.
Step events go out before the run event of the same change: when the run's
last published state is current, so are the terminal phases of its steps
(a step's end moves the run's progress).
"""

from simpipe.v1 import dry_runs_pb2, events_pb2
from simpipe_argo_watcher.read_model import Change, Snapshot
from simpipe_events import contract

SOURCE = "argo-watcher"

PhaseEvent = events_pb2.StepPhaseChanged | events_pb2.DryRunPhaseChanged
RunState = tuple[events_pb2.DryRunPhase.ValueType, str, str]


def run_state(dry_run: dry_runs_pb2.DryRun) -> RunState:
    """What a run phase event reports: a change of any of it is published."""
    status = dry_run.status
    return status.phase, status.progress, status.message


def published_state(event: events_pb2.DryRunPhaseChanged) -> tuple[str, RunState]:
    """The run state a run phase event reported, and whose: a run of the same
    name may have been deleted and created again."""
    return event.uid, (event.phase, event.progress, event.message)


def run_phase_event(snapshot: Snapshot) -> events_pb2.DryRunPhaseChanged:
    dry_run = snapshot.dry_run
    phase, progress, message = run_state(dry_run)
    return events_pb2.DryRunPhaseChanged(
        meta=contract.meta(f"{dry_run.uid}:{snapshot.resource_version}", SOURCE),
        dry_run_id=dry_run.id,
        project_id=dry_run.project_id,
        owner=dry_run.owner,
        uid=dry_run.uid,
        phase=phase,
        progress=progress,
        message=message,
        resource_version=snapshot.resource_version,
    )


def step_phase_event(
    dry_run: dry_runs_pb2.DryRun, node: dry_runs_pb2.DryRunNode
) -> events_pb2.StepPhaseChanged:
    return events_pb2.StepPhaseChanged(
        meta=contract.meta(
            f"{dry_run.uid}:{node.id}:{contract.node_phase_name(node.phase)}", SOURCE
        ),
        dry_run_id=dry_run.id,
        project_id=dry_run.project_id,
        owner=dry_run.owner,
        uid=dry_run.uid,
        node_id=node.id,
        display_name=node.display_name,
        phase=node.phase,
        exit_code=node.exit_code,
        message=node.message,
    )


def step_phases(dry_run: dry_runs_pb2.DryRun) -> dict[str, events_pb2.NodePhase.ValueType]:
    return {node.id: node.phase for node in dry_run.nodes if node.type == "Pod"}


def change_events(change: Change) -> list[PhaseEvent]:
    """The events of one change seen by the watch; a deletion publishes nothing."""
    current = change.current
    if current is None:
        return []
    previous = change.previous.dry_run if change.previous else None
    before = step_phases(previous) if previous else {}
    events: list[PhaseEvent] = [
        step_phase_event(current.dry_run, node)
        for node in current.dry_run.nodes
        if node.type == "Pod" and before.get(node.id) != node.phase
    ]
    if previous is None or run_state(previous) != run_state(current.dry_run):
        events.append(run_phase_event(current))
    return events


def current_state_events(snapshot: Snapshot) -> list[PhaseEvent]:
    """The dry run's state as it is now: every step's phase, then the run's."""
    dry_run = snapshot.dry_run
    return [
        *(step_phase_event(dry_run, node) for node in dry_run.nodes if node.type == "Pod"),
        run_phase_event(snapshot),
    ]
