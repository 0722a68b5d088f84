"""The servicer: typed errors become their gRPC status, and a part not built
(no engine, or a method it lacks) is UNIMPLEMENTED, never INTERNAL."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
import pytest

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import REASON_KEY, NotFoundError
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


class HalfBuiltEngine:
    async def get_simulation(self, request: pb.SimulationRef) -> pb.Simulation:
        raise NotImplementedError


async def call(api: KwokScalerApi, method: str, request: Any) -> Context:
    context = Context()
    with pytest.raises(AbortedError):
        await getattr(api, method)(request, context)
    return context


async def test_typed_errors_keep_their_code_and_reason() -> None:
    api = KwokScalerApi(Clusters(), None)  # type: ignore[arg-type]
    context = await call(api, "GetVirtualCluster", pb.VirtualClusterRef(caller="a", id="x"))
    assert (context.code, context.details) == (
        grpc.StatusCode.NOT_FOUND,
        "virtual cluster x not found",
    )
    assert dict(context.trailing) == {REASON_KEY: "not-found"}


async def test_simulations_without_an_engine_or_a_method_are_unimplemented() -> None:
    without = KwokScalerApi(Clusters(), None)  # type: ignore[arg-type]
    for method, request in (
        ("StartSimulation", pb.StartSimulationRequest(caller="a")),
        ("ListSimulations", pb.ListSimulationsRequest(caller="a")),
        ("CompareSimulations", pb.CompareSimulationsRequest(caller="a")),
    ):
        context = await call(without, method, request)
        assert context.code == grpc.StatusCode.UNIMPLEMENTED, method
    half = KwokScalerApi(Clusters(), HalfBuiltEngine())  # type: ignore[arg-type]
    context = await call(half, "GetSimulation", pb.SimulationRef(caller="a", id="s"))
    assert context.code == grpc.StatusCode.UNIMPLEMENTED
