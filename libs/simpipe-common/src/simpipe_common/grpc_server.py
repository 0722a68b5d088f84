"""The gRPC side of every service: an aio server with ServiceInfo and the
standard health service (grpc.health.v1), on a port that takes only mutual
TLS callers the mesh's CA vouches for; its own methods answer only the
identities grpc_callers allows. Reflection (for grpcurl) when enabled."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from simpipe.v1 import service_info_pb2_grpc
from simpipe_common.grpc_callers import ALLOWED_CALLERS, SERVICE_INFO, CallerAllowlist
from simpipe_common.grpc_metrics import CallMetrics
from simpipe_common.mesh_tls import mesh_tls
from simpipe_common.service_info import ServiceInfoServicer
from simpipe_common.settings import GrpcServiceSettings


@dataclass(frozen=True)
class GrpcRegistration:
    """One gRPC service a SIM-PIPE service serves: its full name (for health
    and reflection) and the generated add_*Servicer_to_server bound to it."""

    full_name: str
    add_to_server: Callable[[grpc.aio.Server], None]


class GrpcServer:
    def __init__(
        self,
        name: str,
        settings: GrpcServiceSettings,
        service_info: ServiceInfoServicer,
        registrations: Sequence[GrpcRegistration] = (),
    ) -> None:
        host, port = settings.bind_host, settings.grpc_port
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        # Read now: missing or unreadable files stop the start (StartupError).
        self._tls = mesh_tls(settings)
        callers = ALLOWED_CALLERS.get(name, frozenset()) | settings.grpc_extra_callers
        self._health = health.aio.HealthServicer()
        self._server = grpc.aio.server(
            # Calls timed first, refusals included; without TLS no caller
            # has an identity to check (tests only).
            interceptors=[
                CallMetrics(),
                *([CallerAllowlist(name, callers)] if self._tls is not None else []),
            ],
            options=[
                ("grpc.max_receive_message_length", settings.grpc_max_request_bytes),
                ("grpc.max_send_message_length", settings.grpc_max_answer_bytes),
            ],
        )
        service_info_pb2_grpc.add_ServiceInfoServicer_to_server(service_info, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        for registration in registrations:
            registration.add_to_server(self._server)
        self._services = (
            SERVICE_INFO,
            *(r.full_name for r in registrations),
            health.SERVICE_NAME,
        )
        if settings.grpc_reflection:
            reflection.enable_server_reflection(
                (*self._services, reflection.SERVICE_NAME), self._server
            )

    async def start(self) -> int:
        """Listens and serves; returns the bound port."""
        if self._tls is None:
            port = self._server.add_insecure_port(self._address)
        else:
            port = self._server.add_secure_port(self._address, self._tls.server_credentials())
        await self._server.start()
        for name in ("", *self._services):  # "" is the whole server's health
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return port

    async def stop(self, grace_seconds: float) -> None:
        """Reports NOT_SERVING, refuses new RPCs, cancels those still running after the grace."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace_seconds)
