"""simpipe_client.events against the stack's NATS: a project's run events,
typed by the contract, from the run's start to its end; another project's
run, at the same time, never among them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import nats
import pytest

from simpipe.v1 import events_pb2
from simpipe_client import AsyncSimpipe
from simpipe_client.events import RunEvent, project_run_events
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_events import contract

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


@pytest.mark.timeout(180)
async def test_a_projects_run_events_typed_to_its_end(
    dev: AsyncSimpipe, project: str, mesh: ServiceSettings, endpoints: dict[str, str]
) -> None:
    other = (await dev.graphql('mutation { createProject(project: {name: "other"}) { id } }'))[
        "createProject"
    ]["id"]
    connection = await nats.connect(endpoints["nats"], connect_timeout=5, **connect_options(mesh))
    seen: list[RunEvent] = []
    try:
        run_id = await start(dev, project)
        other_run = await start(dev, other)
        # With replay: what was stored before the subscription, then live.
        events = project_run_events(connection, DEV, project, replay=True)
        async with asyncio.timeout(150):
            async for event in events:
                seen.append(event)
                message = event.message
                if (
                    isinstance(message, events_pb2.DryRunPhaseChanged)
                    and message.phase in contract.TERMINAL_RUN_PHASES
                ):
                    break
        await events.aclose()
    finally:
        await connection.close()
        await dev.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=other)
    runs = [e.message for e in seen if isinstance(e.message, events_pb2.DryRunPhaseChanged)]
    steps = [e.message for e in seen if isinstance(e.message, events_pb2.StepPhaseChanged)]
    assert {m.dry_run_id for m in runs} == {run_id}, "another project's run was delivered"
    assert other_run not in {getattr(e.message, "dry_run_id", "") for e in seen}
    assert contract.run_phase_name(runs[-1].phase) == "Succeeded"
    assert "only" in {m.display_name for m in steps}
    assert {e.event_type for e in seen} >= {"DryRunPhaseChanged", "StepPhaseChanged"}
    sequences = [e.sequence for e in seen]
    assert sequences == sorted(sequences)
