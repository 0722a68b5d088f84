"""Which events the read model's changes produce, replaying a real run."""

import copy
from typing import Any

from simpipe.v1 import events_pb2
from simpipe_argo_watcher.changes import PhaseEvent, change_events, current_state_events
from simpipe_argo_watcher.read_model import ReadModel
from simpipe_events import contract

UID = "8d7707fb-cd3b-4049-b456-c91bbfa24e52"
OWNER, PROJECT, RUN = "alice@example.org", "demo", "capture-vkfvt"
PREPARE, EXPLODE = "capture-vkfvt-1556016048", "capture-vkfvt-2349931391"
RUN_PHASE = contract.event_type(events_pb2.DryRunPhaseChanged).subject(
    owner=OWNER, project=PROJECT, run=RUN
)


def step_phase(node: str) -> str:
    return contract.event_type(events_pb2.StepPhaseChanged).subject(
        owner=OWNER, project=PROJECT, run=RUN, node=node
    )


def summary(events: list[PhaseEvent]) -> list[tuple[str, str]]:
    return [(contract.subject_of(event), contract.event_id(event)) for event in events]


def owned_by_the_run(event: PhaseEvent) -> bool:
    found = (event.owner, event.uid, event.dry_run_id, event.project_id)
    return found == (OWNER, UID, RUN, PROJECT)


def test_a_new_run_publishes_its_steps_then_its_phase(pending: dict[str, Any]) -> None:
    model = ReadModel()
    (change,) = model.replace_all([pending])
    events = change_events(change)
    assert summary(events) == [
        (step_phase(PREPARE), f"{UID}:{PREPARE}:Pending"),
        (RUN_PHASE, f"{UID}:1409"),
    ]
    step, run = events
    assert isinstance(step, events_pb2.StepPhaseChanged)
    assert (step.node_id, step.display_name, step.phase) == (
        PREPARE, "prepare", events_pb2.NODE_PHASE_PENDING,
    )  # fmt: skip
    assert isinstance(run, events_pb2.DryRunPhaseChanged)
    assert (run.phase, run.progress, run.resource_version) == (
        events_pb2.DRY_RUN_PHASE_RUNNING, "0/1", "1409",
    )  # fmt: skip
    assert all(owned_by_the_run(event) for event in events)
    assert {event.meta.source for event in events} == {"argo-watcher"}
    assert all(event.meta.occurred_at.seconds > 0 for event in events)


def test_each_change_publishes_only_what_changed(
    pending: dict[str, Any], running: dict[str, Any], failed: dict[str, Any]
) -> None:
    model = ReadModel()
    model.replace_all([pending])
    # Running: prepare finished (progress 1/2), explode started.
    assert summary(change_events(model.upsert(running))) == [  # type: ignore[arg-type]
        (step_phase(PREPARE), f"{UID}:{PREPARE}:Succeeded"),
        (step_phase(EXPLODE), f"{UID}:{EXPLODE}:Running"),
        (RUN_PHASE, f"{UID}:1432"),
    ]
    events = change_events(model.upsert(failed))  # type: ignore[arg-type]
    assert summary(events) == [
        (step_phase(EXPLODE), f"{UID}:{EXPLODE}:Failed"),
        (RUN_PHASE, f"{UID}:1443"),
    ]
    step, run = events
    assert isinstance(step, events_pb2.StepPhaseChanged)
    assert (step.display_name, step.phase, step.exit_code) == (
        "explode", events_pb2.NODE_PHASE_FAILED, "3",
    )  # fmt: skip
    assert isinstance(run, events_pb2.DryRunPhaseChanged)
    assert (run.phase, run.progress) == (events_pb2.DRY_RUN_PHASE_FAILED, "1/2")
    assert all(owned_by_the_run(event) for event in events)


def test_a_change_that_moves_no_phase_publishes_nothing(running: dict[str, Any]) -> None:
    model = ReadModel()
    model.replace_all([running])
    labelled = copy.deepcopy(running)
    labelled["metadata"]["resourceVersion"] = "1433"
    labelled["metadata"]["labels"]["workflows.argoproj.io/workflow-archiving-status"] = "Pending"
    change = model.upsert(labelled)
    assert change is not None
    assert change_events(change) == []


def test_the_same_version_again_is_no_change(running: dict[str, Any]) -> None:
    model = ReadModel()
    model.replace_all([running])
    assert model.upsert(copy.deepcopy(running)) is None
    assert model.replace_all([copy.deepcopy(running)]) == []


def test_a_relist_deletes_what_is_gone_and_deletions_publish_nothing(
    running: dict[str, Any],
) -> None:
    model = ReadModel()
    model.replace_all([running])
    (change,) = model.replace_all([])
    assert change.current is None
    assert change_events(change) == []
    assert model.get("capture-vkfvt") is None


def test_current_state_repeats_the_ids_of_the_live_events(failed: dict[str, Any]) -> None:
    model = ReadModel()
    (change,) = model.replace_all([failed])
    (snapshot,) = model.snapshots()
    # After a restart the same state yields the same ids: JetStream drops repeats.
    assert summary(current_state_events(snapshot)) == summary(change_events(change))


async def test_subscribers_get_every_change_in_order(
    pending: dict[str, Any], running: dict[str, Any]
) -> None:
    model = ReadModel()
    model.replace_all([pending])
    with model.subscribe("capture-vkfvt") as updates:
        model.upsert(running)
        model.delete("capture-vkfvt")
        first, second = updates.get_nowait(), updates.get_nowait()
    assert first is not None
    assert first.status.progress == "1/2"
    assert second is None
    with model.subscribe("capture-vkfvt"):
        pass
    model.upsert(pending)  # nobody listens any more: nothing is queued anywhere
