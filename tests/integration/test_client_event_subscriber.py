"""simpipe_client.events against the stack's NATS: subscribed before a run
starts, a project's run events, typed by the contract, from the run's
submission to its end; another project's run, at the same time, never among
them; a replay of the project afterwards the same events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import nats
import pytest

from simpipe.v1 import events_pb2
from simpipe_client import AsyncSimpipe
from simpipe_client.events import RunEvent, RunEvents, project_run_events
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_events import contract

# The owner as the mesh names it: the user's name.
DEV = "local-dev"
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"


def one_step() -> dict[str, Any]:
    steps = (SimulatedStep("only", seconds=2, cpu_millicores=50, memory_mib=16),)
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


async def start(dev: AsyncSimpipe, project: str) -> str:
    run_id = f"events-{uuid.uuid4().hex[:8]}"
    await dev.graphql(
        CREATE,
        i={"projectId": project, "dryRunId": run_id, "placement": "VIRTUAL_NODES",
           "argoWorkflow": one_step()},
    )  # fmt: skip
    return run_id


def ends_a_run(event: RunEvent) -> bool:
    message = event.message
    return (
        isinstance(message, events_pb2.DryRunPhaseChanged)
        and message.phase in contract.TERMINAL_RUN_PHASES
    )


async def until_run_ends(events: RunEvents, seconds: float) -> list[RunEvent]:
    seen: list[RunEvent] = []
    async with asyncio.timeout(seconds):
        async for event in events:
            seen.append(event)
            if ends_a_run(event):
                return seen
    raise AssertionError(f"the events ended before a run did: {seen}")


@pytest.mark.timeout(240)
async def test_a_projects_run_events_typed_from_submission_to_end(
    dev: AsyncSimpipe, project: str, mesh: ServiceSettings, endpoints: dict[str, str]
) -> None:
    other = (await dev.graphql('mutation { createProject(project: {name: "other"}) { id } }'))[
        "createProject"
    ]["id"]
    connection = await nats.connect(endpoints["nats"], connect_timeout=5, **connect_options(mesh))
    try:
        # Subscribed first, new events only: the runs start after.
        async with project_run_events(connection, DEV, project) as events:
            run_id = await start(dev, project)
            other_run = await start(dev, other)
            seen = await until_run_ends(events, 150)
        # Afterwards, with replay: the same events, from the stream.
        async with project_run_events(connection, DEV, project, replay=True) as stored:
            replayed = await until_run_ends(stored, 30)
    finally:
        await connection.close()
        await dev.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=other)

    messages = [e.message for e in seen]
    assert {getattr(m, "dry_run_id", None) for m in messages} == {run_id}, (
        "another run was delivered"
    )
    assert other_run not in {e.subject.split(".")[5] for e in seen}
    for event in seen:
        assert event.subject == contract.subject_of(event.message)
        assert event.event_type == type(event.message).DESCRIPTOR.name

    submitted = [m for m in messages if isinstance(m, events_pb2.DryRunSubmitted)]
    runs = [m for m in messages if isinstance(m, events_pb2.DryRunPhaseChanged)]
    steps = [m for m in messages if isinstance(m, events_pb2.StepPhaseChanged)]
    assert len(submitted) == 1, "subscribed before the run started: its submission too"
    assert {r.uid for r in runs} == {submitted[0].uid}
    assert contract.run_phase_name(runs[-1].phase) == "Succeeded"
    assert events_pb2.DRY_RUN_PHASE_RUNNING in {r.phase for r in runs}
    assert {contract.node_phase_name(s.phase) for s in steps if s.display_name == "only"} >= {
        "Succeeded"
    }

    sequences = [e.sequence for e in seen]
    assert sequences == sorted(set(sequences)), "in stream order, each once"
    assert [(e.sequence, e.subject) for e in replayed] == [(e.sequence, e.subject) for e in seen]
