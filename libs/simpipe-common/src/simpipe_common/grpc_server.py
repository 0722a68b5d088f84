"""The gRPC side of every service: an aio server with ServiceInfo, the standard health
service (grpc.health.v1) and reflection, so grpcurl and Kubernetes gRPC probes work."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_common.service_info import ServiceInfoServicer

SERVICE_INFO = service_info_pb2.DESCRIPTOR.services_by_name["ServiceInfo"].full_name


@dataclass(frozen=True)
class GrpcRegistration:
    """One gRPC service a SIM-PIPE service serves: its full name (for health
    and reflection) and the generated add_*Servicer_to_server bound to it."""

    full_name: str
    add_to_server: Callable[[grpc.aio.Server], None]


class GrpcServer:
    def __init__(
        self,
        host: str,
        port: int,
        service_info: ServiceInfoServicer,
        registrations: Sequence[GrpcRegistration] = (),
    ) -> None:
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._health = health.aio.HealthServicer()
        self._server = grpc.aio.server()
        service_info_pb2_grpc.add_ServiceInfoServicer_to_server(service_info, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        for registration in registrations:
            registration.add_to_server(self._server)
        self._services = (
            SERVICE_INFO,
            *(r.full_name for r in registrations),
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(self._services, self._server)

    async def start(self) -> int:
        """Listens and serves; returns the bound port."""
        port = self._server.add_insecure_port(self._address)
        await self._server.start()
        for name in ("", *self._services):  # "" is the whole server's health
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return port

    async def stop(self, grace_seconds: float) -> None:
        """Reports NOT_SERVING, refuses new RPCs, cancels those still running after the grace."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace_seconds)
