"""The servicer: typed errors of the clusters and of the engine become their
gRPC status and reason; the background work is started again after a failure."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
import pytest

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import REASON_KEY, NotFoundError
from simpipe_kwok_scaler import __main__ as scaler_main
from simpipe_kwok_scaler.server import KwokScalerApi


class AbortedError(Exception):
    pass


class Context:
    """What the servicer uses of a grpc.aio.ServicerContext."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.trailing: tuple[tuple[str, str], ...] = ()

    def set_trailing_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.trailing = metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        self.code, self.details = code, details
        raise AbortedError


class Clusters:
    async def get(self, request: pb.VirtualClusterRef) -> pb.VirtualCluster:
        raise NotFoundError(f"virtual cluster {request.id} not found")


class Engine:
    async def get_simulation(self, request: pb.SimulationRef) -> pb.Simulation:
        raise NotFoundError(f"simulation {request.id} not found")


async def call(api: KwokScalerApi, method: str, request: Any) -> Context:
    context = Context()
    with pytest.raises(AbortedError):
        await getattr(api, method)(request, context)
    return context


async def test_typed_errors_keep_their_code_and_reason() -> None:
    api = KwokScalerApi(Clusters(), Engine())  # type: ignore[arg-type]
    context = await call(api, "GetVirtualCluster", pb.VirtualClusterRef(caller="a", id="x"))
    assert (context.code, context.details) == (
        grpc.StatusCode.NOT_FOUND,
        "virtual cluster x not found",
    )
    assert dict(context.trailing) == {REASON_KEY: "not-found"}


async def test_the_engines_typed_errors_keep_their_code() -> None:
    api = KwokScalerApi(Clusters(), Engine())  # type: ignore[arg-type]
    context = await call(api, "GetSimulation", pb.SimulationRef(caller="a", id="s"))
    assert context.code == grpc.StatusCode.NOT_FOUND
    assert dict(context.trailing) == {REASON_KEY: "not-found"}


async def test_failed_background_work_starts_again_until_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("simpipe_kwok_scaler.__main__.asyncio.sleep", no_wait)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 4:
            raise RuntimeError("the apiserver went away")

    await scaler_main.supervised("flaky", flaky)
    assert runs == 4
    # Backing off, doubling from a second.
    assert slept == [1.0, 2.0, 4.0]
