"""The simulations' public face: the RPCs' logic, scoped by caller."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from kubernetes import client
from simpipe.v1 import (
    argo_watcher_pb2_grpc,
    kwok_scaler_pb2,
    metrics_collector_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe_events.publisher import EventPublisher

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from simpipe_kwok_scaler.config import KwokScalerSettings


class Simulations:
    """Every simulation RPC of the servicer, plus `run()`: the background
    work (watching the simulated runs' pods, recovery after a restart).

    `kube` makes the (sync) Kubernetes client; `s3` writes reports, `signer`
    only signs their URLs (a client of the endpoint readers reach)."""

    def __init__(
        self,
        settings: "KwokScalerSettings",
        *,
        kube: Callable[[], client.ApiClient],
        submitter: workflow_submitter_pb2_grpc.WorkflowSubmitterStub,
        collector: metrics_collector_pb2_grpc.MetricsCollectorStub,
        watcher: argo_watcher_pb2_grpc.ArgoWatcherStub,
        publisher: EventPublisher,
        s3: "S3Client",
        signer: "S3Client",
    ) -> None:
        self.settings = settings
        self._kube = kube
        self._submitter = submitter
        self._collector = collector
        self._watcher = watcher
        self._publisher = publisher
        self._s3 = s3
        self._signer = signer

    async def run(self) -> None:
        """Resumes unfinished simulations, then keeps their watches going
        until cancelled."""
        raise NotImplementedError

    async def start_simulation(
        self, request: kwok_scaler_pb2.StartSimulationRequest
    ) -> kwok_scaler_pb2.Simulation:
        raise NotImplementedError

    async def get_simulation(
        self, request: kwok_scaler_pb2.SimulationRef
    ) -> kwok_scaler_pb2.Simulation:
        raise NotImplementedError

    async def list_simulations(
        self, request: kwok_scaler_pb2.ListSimulationsRequest
    ) -> kwok_scaler_pb2.ListSimulationsResponse:
        raise NotImplementedError

    async def cancel_simulation(
        self, request: kwok_scaler_pb2.SimulationRef
    ) -> kwok_scaler_pb2.Simulation:
        raise NotImplementedError

    async def delete_simulation(
        self, request: kwok_scaler_pb2.SimulationRef
    ) -> kwok_scaler_pb2.DeleteSimulationResponse:
        raise NotImplementedError

    async def get_simulation_report(
        self, request: kwok_scaler_pb2.SimulationRef
    ) -> kwok_scaler_pb2.SimulationReport:
        raise NotImplementedError

    async def compare_simulations(
        self, request: kwok_scaler_pb2.CompareSimulationsRequest
    ) -> kwok_scaler_pb2.SimulationComparison:
        raise NotImplementedError
