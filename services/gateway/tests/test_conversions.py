import json

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import dry_runs_pb2, events_pb2
from simpipe_events import contract
from simpipe_gateway.dry_run_api import to_update
from simpipe_gateway.run_feed import RunEvent
from simpipe_gateway.types import (
    DryRunNodeMisc,
    DryRunNodePhase,
    DryRunNodePod,
    DryRunNodeType,
    DryRunPhase,
    node_phase,
    node_type,
    run_phase,
    to_dry_run,
)


def ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def test_dry_run_message_becomes_the_original_api_shape() -> None:
    message = dry_runs_pb2.DryRun(
        id="run-1",
        project_id="p",
        created_at=ts(1_700_000_000),
        status=dry_runs_pb2.DryRunStatus(phase=events_pb2.DRY_RUN_PHASE_SUSPENDED, progress="1/2"),
        argo_workflow_json=json.dumps({"spec": {"entrypoint": "main"}}),
        nodes=[
            dry_runs_pb2.DryRunNode(id="run-1", type="Steps", children=["run-1-a"]),
            dry_runs_pb2.DryRunNode(
                id="run-1-a", type="Pod", display_name="a", phase=events_pb2.NODE_PHASE_FAILED,
                started_at=ts(1_700_000_010), finished_at=ts(1_700_000_013), duration_seconds=3,
                exit_code="3", pod_name="run-1-a-123", resources_duration={"cpu": 2},
            ),
        ],
    )  # fmt: skip
    run = to_dry_run(message)
    assert run.status.phase is DryRunPhase.Suspended
    assert run.status.progress == "1/2"
    assert run.created_at == "2023-11-14T22:13:20Z"
    document: object = run.argo_workflow
    assert document == {"spec": {"entrypoint": "main"}}
    root, step = run.nodes or []
    assert isinstance(root, DryRunNodeMisc)
    assert isinstance(step, DryRunNodePod)
    # mypy sees the strawberry field, not the method it wraps.
    assert root.children() == [step]  # type: ignore[call-arg, comparison-overlap]
    assert (step.exit_code, step.duration, step.pod_name) == ("3", 3, "run-1-a-123")
    assert step.resources_duration is not None
    assert step.resources_duration.cpu == "2"
    assert step.finished_at == "2023-11-14T22:13:33Z"


def test_node_types_pass_through_and_an_unknown_one_shows_as_steps() -> None:
    assert node_type("Skipped") is DryRunNodeType.Skipped
    assert node_type("DAG") is DryRunNodeType.DAG
    assert node_type("SomethingNew") is DryRunNodeType.Steps


def test_the_graphql_phases_are_the_contracts() -> None:
    assert [p.value for p in DryRunPhase] == list(contract.RUN_PHASE_NAMES)
    assert [p.value for p in DryRunNodePhase] == list(contract.NODE_PHASE_NAMES)
    assert run_phase(events_pb2.DRY_RUN_PHASE_SUCCEEDED) is DryRunPhase.Succeeded
    # A run the watcher has no phase for yet is not "Unspecified".
    assert run_phase(events_pb2.DRY_RUN_PHASE_UNSPECIFIED) is DryRunPhase.Unknown
    assert node_phase(events_pb2.NODE_PHASE_OMITTED) is DryRunNodePhase.Omitted


def test_events_become_subscription_updates_with_argo_phase_names() -> None:
    run = events_pb2.DryRunPhaseChanged(
        dry_run_id="r", project_id="p", phase=events_pb2.DRY_RUN_PHASE_SUCCEEDED
    )
    update = to_update(RunEvent(run))
    assert (update.kind, update.phase, update.project_id) == ("run", "Succeeded", "p")
    assert RunEvent(run).ends_run
    step = events_pb2.StepPhaseChanged(
        dry_run_id="r", node_id="n", phase=events_pb2.NODE_PHASE_RUNNING, exit_code=""
    )
    update = to_update(RunEvent(step))
    assert (update.kind, update.phase, update.node_id, update.exit_code) == (
        "step",
        "Running",
        "n",
        None,
    )
    assert not RunEvent(step).ends_run
