"""The simulationProgress subscription: the simulation's state, then its
owner's progress and end events only, on FastStream's test broker (no NATS)
and a fake kwok-scaler."""

import asyncio
from collections.abc import AsyncIterator
from itertools import count
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from faststream.nats import TestNatsBroker
from google.protobuf.message import Message

from simpipe.v1 import events_pb2, kwok_scaler_pb2
from simpipe_common.event_broker import EventBroker
from simpipe_events import contract
from simpipe_events.stream import STREAM
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema
from simpipe_gateway.simulation_feed import SimulationEvent, SimulationFeed

pb = kwok_scaler_pb2
schema = build_schema(GatewaySettings())
OWNER = "alice@example.org"
_ids = count(1)
RUNNING = events_pb2.SIMULATION_PHASE_RUNNING
SUBSCRIBE = """subscription { simulationProgress(simulationId: "s1") {
  simulationId projectId kind phase message makespanSeconds
  progress { simulatedSeconds stepsDone stepsTotal podsPending copiesDone }
} }"""


def progressed(
    steps_done: int, simulation: str = "s1", owner: str = OWNER
) -> events_pb2.SimulationProgressed:
    return events_pb2.SimulationProgressed(
        meta=contract.meta(f"sim:{simulation}:{next(_ids)}", "test"), simulation_id=simulation,
        project_id="p", owner=owner, simulated_seconds=2.0 * steps_done, steps_done=steps_done,
        steps_total=10, pods_pending=1, copies_done=0,
    )  # fmt: skip


def ended(simulation: str = "s1", owner: str = OWNER) -> events_pb2.SimulationEnded:
    return events_pb2.SimulationEnded(
        meta=contract.meta(f"sim-ended:{simulation}", "test"), simulation_id=simulation,
        project_id="p", owner=owner, phase=events_pb2.SIMULATION_PHASE_SUCCEEDED,
        makespan_seconds=100.0,
    )  # fmt: skip


class Scaler:
    def __init__(self, answer: pb.Simulation | grpc.StatusCode) -> None:
        self.answer = answer

    async def GetSimulation(self, request: pb.SimulationRef, **_: Any) -> pb.Simulation:  # noqa: N802
        if isinstance(self.answer, grpc.StatusCode):
            raise grpc.aio.AioRpcError(
                self.answer, grpc.aio.Metadata(), grpc.aio.Metadata(), "no such simulation"
            )
        assert request.caller == OWNER
        return self.answer


class Authenticated:
    def still_valid(self, caller: Caller) -> bool:
        return True


def feed() -> SimulationFeed:
    return SimulationFeed(EventBroker(GatewaySettings(), "gateway"))


async def subscribe(
    simulation_feed: SimulationFeed, answer: pb.Simulation | grpc.StatusCode, query: str = SUBSCRIBE
) -> AsyncIterator[Any]:
    gateway = SimpleNamespace(
        scaler=Scaler(answer), simulation_feed=simulation_feed, authenticator=Authenticated()
    )
    results = await schema.subscribe(
        query, context_value={"gateway": gateway, "caller": Caller(OWNER)}
    )
    assert not hasattr(results, "errors"), results
    return cast("AsyncIterator[Any]", results)


async def next_result(results: AsyncIterator[Any]) -> tuple[Any, list[str]]:
    # In this task (not wait_for's): the operation's context variables are
    # set and reset in the task that iterates, as the server's does.
    async with asyncio.timeout(5):
        result = await anext(results)
    return result.data, [e.extensions["code"] for e in result.errors or []]


def running(phase: int = RUNNING) -> pb.Simulation:
    return pb.Simulation(
        id="s1", project_id="p", owner=OWNER, phase=phase,  # type: ignore[arg-type]
        progress=pb.SimulationProgress(simulated_seconds=1.0, steps_done=1, steps_total=10),
    )  # fmt: skip


async def test_the_feed_hands_each_owner_only_their_simulations_events() -> None:
    simulation_feed = feed()
    listener = simulation_feed.listen(OWNER, "s1")
    events = simulation_feed.events(listener)
    async with TestNatsBroker(simulation_feed._broker) as broker:
        for event in (
            progressed(1, owner="mallory@example.org"),  # the same id, another owner
            progressed(2, simulation="s2"),
            progressed(3),
            ended(owner="mallory@example.org"),
            ended(),
        ):
            await broker.publish(cast("Any", event), contract.subject_of(event), stream=STREAM)
        got: list[SimulationEvent] = [e async for e in events]
    assert [(type(e.payload).__name__, e.payload.owner) for e in got] == [
        ("SimulationProgressed", OWNER), ("SimulationEnded", OWNER),
    ]  # fmt: skip
    assert got[0].progressed is not None
    assert got[0].progressed.steps_done == 3
    # The end ends the events, and the listener is forgotten.
    assert simulation_feed.subscriptions == 0


async def test_a_subscription_sees_the_state_then_its_progress_until_the_end() -> None:
    simulation_feed = feed()
    results = await subscribe(simulation_feed, running())
    data, errors = await next_result(results)
    assert errors == []
    assert data["simulationProgress"] == {
        "simulationId": "s1", "projectId": "p", "kind": "state", "phase": "Running",
        "message": None, "makespanSeconds": None,
        "progress": {"simulatedSeconds": 1.0, "stepsDone": 1, "stepsTotal": 10, "podsPending": 0, "copiesDone": 0},
    }  # fmt: skip
    assert simulation_feed.subscriptions == 1
    for event in (
        progressed(2, owner="mallory@example.org"),  # another owner's subject: not routed here
        progressed(3),
        ended(),
    ):
        simulation_feed.dispatch(contract.subject_of(event), event)
    data, errors = await next_result(results)
    assert (data["simulationProgress"]["kind"], data["simulationProgress"]["progress"]["stepsDone"]) == (
        "progress", 3,
    )  # fmt: skip
    data, errors = await next_result(results)
    assert data["simulationProgress"] | {"progress": None} == {
        "simulationId": "s1", "projectId": "p", "kind": "ended", "phase": "Succeeded",
        "message": None, "makespanSeconds": 100.0, "progress": None,
    }  # fmt: skip
    with pytest.raises(StopAsyncIteration):
        await next_result(results)
    assert simulation_feed.subscriptions == 0


async def test_an_event_naming_another_owner_is_withheld() -> None:
    """An event whose payload names another owner than its subject (it would
    not pass the contract's decoder; the guard checks it anyway)."""
    simulation_feed = feed()
    results = await subscribe(simulation_feed, running())
    await next_result(results)
    forged = progressed(9, owner="mallory@example.org")
    simulation_feed.dispatch(contract.subject_of(progressed(9)), forged)
    own = progressed(4)
    simulation_feed.dispatch(contract.subject_of(own), own)
    data, _ = await next_result(results)
    assert data["simulationProgress"]["progress"]["stepsDone"] == 4


async def test_a_subscription_to_an_ended_simulation_gives_its_state_and_ends() -> None:
    simulation_feed = feed()
    results = await subscribe(simulation_feed, running(events_pb2.SIMULATION_PHASE_CANCELLED))
    data, _ = await next_result(results)
    assert (data["simulationProgress"]["kind"], data["simulationProgress"]["phase"]) == (
        "state", "Cancelled",
    )  # fmt: skip
    with pytest.raises(StopAsyncIteration):
        await next_result(results)
    assert simulation_feed.subscriptions == 0


@pytest.mark.parametrize("simulation_id", ["s1", "not.a.token"])
async def test_another_users_or_no_simulation_is_not_found(simulation_id: str) -> None:
    simulation_feed = feed()
    query = SUBSCRIBE.replace('"s1"', f'"{simulation_id}"')
    results = await subscribe(simulation_feed, grpc.StatusCode.NOT_FOUND, query)
    data, errors = await next_result(results)
    assert (data, errors) == (None, ["NOT_FOUND_ERROR"])
    assert simulation_feed.subscriptions == 0


def test_events_that_are_not_the_feeds_are_ignored() -> None:
    simulation_feed = feed()
    listener = simulation_feed.listen(OWNER, "s1")
    event = progressed(1)
    other: Message = events_pb2.DryRunPhaseChanged(meta=event.meta, owner=OWNER, dry_run_id="s1")
    simulation_feed.dispatch(contract.subject_of(event), other)
    simulation_feed.dispatch("simpipe.v1.nothing", event)
    assert listener.queue.empty()
