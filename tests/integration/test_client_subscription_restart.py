"""The client's subscription to a run outlives the gateway: killed (SIGKILL,
no goodbye) while the run goes on and started again, the gateway is
connected to again and the updates go on to the run's end, each once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from simpipe_client import AsyncSimpipe, GatewayUnavailableError
from simpipe_devstack.components import Component
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack

STEPS = tuple(
    SimulatedStep(name, seconds=4, cpu_millicores=50, memory_mib=16)
    for name in ("first", "second", "third")
)


def pipeline() -> dict[str, Any]:
    built: dict[str, Any] = simulated_pipeline(STEPS, argo_service("http://unused")).to_dict()
    return built


@pytest.mark.timeout(240)
async def test_updates_go_on_across_a_gateway_restart(
    stack: Stack,
    endpoints: dict[str, str],
    project: str,
    crash: Callable[[Component], None],
) -> None:
    gateway = stack.component("gateway")
    token = stack.secrets.api_tokens["local-dev"]
    async with AsyncSimpipe(endpoints["graphql"], token, reconnect_seconds=90) as dev:
        run_id = f"restart-{uuid.uuid4().hex[:8]}"
        await dev.graphql(
            "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
            i={
                "projectId": project,
                "dryRunId": run_id,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(),
            },
        )
        seen: list[tuple[str, str, str]] = []
        restarted = False
        async with asyncio.timeout(180):
            async for update in dev.dry_run_updates(run_id):
                u = update.dry_run_updates
                seen.append((u.kind, u.display_name or "", u.phase))
                if not restarted and (u.kind, u.display_name, u.phase) == (
                    "step",
                    "first",
                    "Running",
                ):
                    # The gateway dies while the run goes on; started again
                    # after a while, with updates the client has not seen.
                    await asyncio.to_thread(crash, gateway)
                    await asyncio.to_thread(gateway.start, stack)
                    restarted = True
                if u.kind == "run" and u.phase in {"Succeeded", "Failed", "Error"}:
                    break
    assert restarted
    assert seen[-1] == ("run", "", "Succeeded"), seen
    steps = [(name, phase) for kind, name, phase in seen if kind == "step"]
    for name in ("first", "second", "third"):
        assert (name, "Running") in steps, steps
        assert (name, "Succeeded") in steps, steps
    # Each update once, though the gateway replayed the run's events on the
    # new subscription.
    assert len(set(steps)) == len(steps), steps
    assert steps.index(("first", "Succeeded")) < steps.index(("second", "Running"))


async def test_without_a_gateway_a_subscription_gives_up_after_its_window(
    stack: Stack,
) -> None:
    async def first_update(client: AsyncSimpipe) -> object:
        async with asyncio.timeout(30):
            async for update in client.dry_run_updates("any"):
                return update
        return None

    async with AsyncSimpipe("http://127.0.0.1:9/graphql", None, reconnect_seconds=1) as nobody:
        with pytest.raises(GatewayUnavailableError, match="cannot be reached"):
            await first_update(nobody)
