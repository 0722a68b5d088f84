"""The KwokScaler gRPC service: requests in, typed errors out. Virtual
clusters are clusters/'s; every simulation RPC is the engine's
(simulations.Simulations)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe.v1 import kwok_scaler_pb2_grpc
from simpipe_common.errors import Context, ServiceError, abort
from simpipe_kwok_scaler.clusters import VirtualClusters

Request = TypeVar("Request")
Response = TypeVar("Response")


class SimulationRpcs(Protocol):
    """What the servicer asks of the simulation engine."""

    async def start_simulation(self, request: pb.StartSimulationRequest) -> pb.Simulation: ...
    async def get_simulation(self, request: pb.SimulationRef) -> pb.Simulation: ...
    async def list_simulations(
        self, request: pb.ListSimulationsRequest
    ) -> pb.ListSimulationsResponse: ...
    async def cancel_simulation(self, request: pb.SimulationRef) -> pb.Simulation: ...
    async def delete_simulation(self, request: pb.SimulationRef) -> pb.DeleteSimulationResponse: ...
    async def get_simulation_report(self, request: pb.SimulationRef) -> pb.SimulationReport: ...
    async def compare_simulations(
        self, request: pb.CompareSimulationsRequest
    ) -> pb.SimulationComparison: ...


def answered(
    method: Callable[[Any, Request, Context], Awaitable[Response]],
) -> Callable[[Any, Request, Context], Awaitable[Response]]:
    """A ServiceError becomes its gRPC status; anything else is a fault of
    the server, which gRPC answers as UNKNOWN and logs."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Request, context: Context) -> Response:
        try:
            return await method(self, request, context)
        except ServiceError as error:
            await abort(context, error)

    return wrapper


class KwokScalerApi(kwok_scaler_pb2_grpc.KwokScalerServicer):
    def __init__(self, clusters: VirtualClusters, simulations: SimulationRpcs) -> None:
        self.clusters = clusters
        self.simulations = simulations

    # Virtual clusters
    @answered
    async def CreateVirtualCluster(
        self, request: pb.CreateVirtualClusterRequest, context: Context
    ) -> pb.VirtualCluster:
        return await self.clusters.create(request)

    @answered
    async def ResizeVirtualCluster(
        self, request: pb.ResizeVirtualClusterRequest, context: Context
    ) -> pb.VirtualCluster:
        return await self.clusters.resize(request)

    @answered
    async def DeleteVirtualCluster(
        self, request: pb.VirtualClusterRef, context: Context
    ) -> pb.DeleteVirtualClusterResponse:
        return await self.clusters.delete(request)

    @answered
    async def GetVirtualCluster(
        self, request: pb.VirtualClusterRef, context: Context
    ) -> pb.VirtualCluster:
        return await self.clusters.get(request)

    @answered
    async def ListVirtualClusters(
        self, request: pb.ListVirtualClustersRequest, context: Context
    ) -> pb.ListVirtualClustersResponse:
        return await self.clusters.list_clusters(request)

    # Simulations
    @answered
    async def StartSimulation(
        self, request: pb.StartSimulationRequest, context: Context
    ) -> pb.Simulation:
        return await self.simulations.start_simulation(request)

    @answered
    async def GetSimulation(self, request: pb.SimulationRef, context: Context) -> pb.Simulation:
        return await self.simulations.get_simulation(request)

    @answered
    async def ListSimulations(
        self, request: pb.ListSimulationsRequest, context: Context
    ) -> pb.ListSimulationsResponse:
        return await self.simulations.list_simulations(request)

    @answered
    async def CancelSimulation(self, request: pb.SimulationRef, context: Context) -> pb.Simulation:
        return await self.simulations.cancel_simulation(request)

    @answered
    async def DeleteSimulation(
        self, request: pb.SimulationRef, context: Context
    ) -> pb.DeleteSimulationResponse:
        return await self.simulations.delete_simulation(request)

    @answered
    async def GetSimulationReport(
        self, request: pb.SimulationRef, context: Context
    ) -> pb.SimulationReport:
        return await self.simulations.get_simulation_report(request)

    @answered
    async def CompareSimulations(
        self, request: pb.CompareSimulationsRequest, context: Context
    ) -> pb.SimulationComparison:
        return await self.simulations.compare_simulations(request)
