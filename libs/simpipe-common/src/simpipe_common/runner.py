"""Runs a service: starts its HTTP and gRPC servers, serves until SIGTERM or SIGINT,
then shuts down in order (unready, drain gRPC, stop HTTP) and returns, so the process
exits 0."""

import asyncio
import signal
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version

import prometheus_client
import structlog

from simpipe_common.checks import Check, CheckResult
from simpipe_common.errors import StartupError
from simpipe_common.grpc_server import GrpcRegistration, GrpcServer
from simpipe_common.http import ASGIApp, HealthApp, HttpServer
from simpipe_common.logs import configure_logging
from simpipe_common.memory import release_free_memory, resident_mib
from simpipe_common.mesh_tls import mesh_tls
from simpipe_common.service_info import ServiceInfoServicer
from simpipe_common.settings import GrpcServiceSettings, ServiceSettings

log = structlog.get_logger(__name__)

SERVICE_INFO = prometheus_client.Info("simpipe_service", "The SIM-PIPE service in this process")


@dataclass(frozen=True)
class Service:
    """What a service plugs into the runner. It serves gRPC when its settings are
    GrpcServiceSettings; `dependencies` are reported by ServiceInfo.GetInfo."""

    name: str
    settings: ServiceSettings
    dependencies: Sequence[Check] = ()
    # What /health lists as still starting (e.g. the event broker's first
    # connection) without failing: a service serves meanwhile, and a shared
    # dependency's outage must not pull every replica out at once.
    starting: Sequence[Check] = ()
    http_routes: Mapping[str, ASGIApp] = field(default_factory=dict)
    # Answers HTTP paths that are none of the above (the gateway's web GUI).
    http_fallback: ASGIApp | None = None
    # Opens what the service's APIs need (connections, watches) before the
    # servers start and closes it after they stopped; yields the service's
    # own gRPC services.
    lifespan: Callable[[], AbstractAsyncContextManager[Sequence[GrpcRegistration]]] | None = None
    # uvloop: a request's event-loop turns (HTTP, GraphQL, gRPC's poller
    # callbacks) cost less CPU than on asyncio's own loop, for a little more
    # memory. Off where no request path runs through the service.
    uvloop: bool = True

    @property
    def version(self) -> str:
        return version(f"simpipe-{self.name}")


class ServiceRunner:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.started = asyncio.Event()
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self._accepting = False

    async def _accepting_check(self) -> CheckResult:
        return CheckResult("accepting", self._accepting, "" if self._accepting else "stopping")

    async def run(self) -> None:
        """Serves until SIGTERM or SIGINT, then shuts down gracefully."""
        service, settings = self.service, self.service.settings
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        resources = AsyncExitStack()
        try:
            # Every service calls or serves gRPC: one without its mesh
            # identity stops here, before it opens anything.
            if mesh_tls(settings) is None:
                log.warning("the mesh runs insecure: plaintext gRPC, no caller identities")
            registrations: Sequence[GrpcRegistration] = ()
            if service.lifespan is not None:
                registrations = await resources.enter_async_context(service.lifespan())
            http = HttpServer(
                HealthApp(
                    service.name,
                    service.version,
                    [self._accepting_check],
                    service.http_routes,
                    service.starting,
                    service.http_fallback,
                ),
                settings.bind_host,
                settings.http_port,
                settings.shutdown_grace_seconds,
            )
            grpc_server = (
                GrpcServer(
                    service.name,
                    settings,
                    ServiceInfoServicer(
                        service.name, service.version, datetime.now(UTC), service.dependencies
                    ),
                    registrations,
                )
                if isinstance(settings, GrpcServiceSettings)
                else None
            )
            _release_startup_memory()
            self.http_port = await http.start()
            if grpc_server is not None:
                self.grpc_port = await grpc_server.start()
            self._accepting = True
            SERVICE_INFO.info({"service": service.name, "version": service.version})
            log.info(
                "service started",
                version=service.version,
                host=settings.bind_host,
                http_port=self.http_port,
                grpc_port=self.grpc_port,
            )
            self.started.set()
            await stop.wait()
            log.info("service stopping", grace_seconds=settings.shutdown_grace_seconds)
            self._accepting = False
            if grpc_server is not None:
                await grpc_server.stop(settings.shutdown_grace_seconds)
            await http.stop()
        finally:
            await resources.aclose()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("service stopped")


def _release_startup_memory() -> None:
    """What starting freed goes back to the OS before the service serves (see
    simpipe_common.memory); the log line says how much."""
    before = resident_mib()
    if release_free_memory():
        after = resident_mib()
        log.info(
            "startup memory released",
            rss_mib_before=before and round(before, 1),
            rss_mib_after=after and round(after, 1),
        )


def run_service(service: Service) -> None:
    """The body of every service's `python -m simpipe_<name>`. A StartupError
    ends it with its message and exit code 2."""
    configure_logging(service.name, service.settings.log_level)
    try:
        if service.uvloop:
            import uvloop  # only the services that run on it load it

            uvloop.run(ServiceRunner(service).run())
        else:
            asyncio.run(ServiceRunner(service).run())
    except StartupError as error:
        log.error("service cannot start", reason=str(error))
        raise SystemExit(2) from None
