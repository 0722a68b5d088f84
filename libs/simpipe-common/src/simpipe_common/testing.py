"""Helpers for the services' unit tests: run `python -m <module>` on ephemeral loopback
ports with a mesh identity of a throwaway CA, talk to it over HTTP and gRPC
(mTLS, as `tests`), and stop it with SIGTERM; the event stream in memory."""

import asyncio
import functools
import json
import os
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.mesh_pki import Authority
from simpipe_common.settings import ServiceSettings
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher, headers
from simpipe_events.stream import STREAM

# Dependencies at a closed loopback port: checks fail at once, without any network.
UNREACHABLE_URL = "http://127.0.0.1:9"
UNREACHABLE_ENV = {
    "SIMPIPE_NATS_URL": "nats://127.0.0.1:9",
    "SIMPIPE_ARGO_SERVER_URL": UNREACHABLE_URL,
    "SIMPIPE_S3_ENDPOINT": UNREACHABLE_URL,
    "SIMPIPE_S3_ACCESS_KEY": "test",
    "SIMPIPE_S3_SECRET_KEY": "test-secret",
    "SIMPIPE_PROMETHEUS_URL": UNREACHABLE_URL,
    "SIMPIPE_KUBECONFIG": "/nonexistent/kubeconfig",
    "SIMPIPE_CHECK_TIMEOUT_SECONDS": "2",
    "SIMPIPE_NATS_USER": "test",
    "SIMPIPE_NATS_PASSWORD": "test-secret",
}
# The identity the tests call services as.
TESTS_IDENTITY = "tests"


class ThrowawayMesh:
    """A mesh CA of the test run's own, in a temporary directory, and
    certificates signed by it on demand (simpipe_common.mesh_pki)."""

    def __init__(self) -> None:
        # Removed when the test run ends (the object lives as long as the cache below).
        self._directory = tempfile.TemporaryDirectory(prefix="simpipe-mesh-")
        self.path = Path(self._directory.name)
        self.authority = Authority.create()
        (self.path / "ca.pem").write_bytes(self.authority.cert_pem)

    def env(self, identity: str) -> dict[str, str]:
        """SIMPIPE_TLS_* of `identity`, issued on first use."""
        cert, key = self.path / f"{identity}.pem", self.path / f"{identity}-key.pem"
        if not cert.exists():
            issued = self.authority.issue(identity)
            key.write_bytes(issued.key_pem)
            cert.write_bytes(issued.cert_pem)
        return {
            "SIMPIPE_TLS_CA_FILE": str(self.path / "ca.pem"),
            "SIMPIPE_TLS_CERT_FILE": str(cert),
            "SIMPIPE_TLS_KEY_FILE": str(key),
        }

    def settings(self, identity: str = TESTS_IDENTITY) -> ServiceSettings:
        """A caller's settings with `identity`'s certificate."""
        files = self.env(identity)
        return ServiceSettings(
            tls_ca_file=Path(files["SIMPIPE_TLS_CA_FILE"]),
            tls_cert_file=Path(files["SIMPIPE_TLS_CERT_FILE"]),
            tls_key_file=Path(files["SIMPIPE_TLS_KEY_FILE"]),
        )


@functools.cache
def throwaway_mesh() -> ThrowawayMesh:
    """One per test process: making a CA takes a moment."""
    return ThrowawayMesh()


def service_identity(module: str) -> str:
    """'metrics-collector' of 'simpipe_metrics_collector'."""
    return module.removeprefix("simpipe_").replace("_", "-")


@dataclass
class ServiceProcess:
    process: asyncio.subprocess.Process
    http_port: int
    grpc_port: int | None
    logs: list[dict[str, Any]] = field(default_factory=list)
    # How the tests call it: mTLS as `tests` (or plaintext, when it runs insecure).
    caller: ServiceSettings = field(default_factory=lambda: throwaway_mesh().settings())

    async def http_request(
        self, path: str, json_body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body); a JSON body makes it a POST."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", headers=dict(headers or {})
        )
        if json_body is not None:
            request.data = json.dumps(json_body).encode()
            request.add_header("content-type", "application/json")

        def send() -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        return await asyncio.to_thread(send)

    async def get_info(self) -> service_info_pb2.ServiceInfoResponse:
        async with mesh_channel(f"127.0.0.1:{self.grpc_port}", self.caller) as channel:
            stub = service_info_pb2_grpc.ServiceInfoStub(channel)
            return await stub.GetInfo(service_info_pb2.GetInfoRequest(), timeout=10)

    async def health_status(self, service: str = "") -> int:
        """The grpc.health.v1 status of `service` ("" is the whole server)."""
        async with mesh_channel(f"127.0.0.1:{self.grpc_port}", self.caller) as channel:
            check = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            response = await check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            return response.status

    async def terminate(self) -> int:
        """Sends SIGTERM, collects the remaining logs, returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.logs.append(json.loads(line))
        return await self.process.wait()


@asynccontextmanager
async def service_process(
    module: str,
    env: Mapping[str, str] = UNREACHABLE_ENV,
    start_timeout: float = 60,
    mesh: bool = True,
) -> AsyncIterator[ServiceProcess]:
    """Starts `python -m module` on 127.0.0.1 with ephemeral ports and, with
    `mesh`, the service's certificate of the throwaway CA (`env` may
    override); kills it on exit."""
    identity = throwaway_mesh().env(service_identity(module)) if mesh else {}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        env={
            **os.environ,
            **identity,
            **env,
            "SIMPIPE_BIND_HOST": "127.0.0.1",
            "SIMPIPE_HTTP_PORT": "0",
            "SIMPIPE_GRPC_PORT": "0",
        },
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        logs = await asyncio.wait_for(_logs_until_started(process), start_timeout)
        started = logs[-1]
        caller = throwaway_mesh().settings()
        if env.get("SIMPIPE_MESH_INSECURE", "").lower() in ("1", "true", "yes", "on"):
            caller = ServiceSettings(mesh_insecure=True)
        yield ServiceProcess(process, started["http_port"], started["grpc_port"], logs, caller)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _logs_until_started(process: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    assert process.stdout is not None
    logs: list[dict[str, Any]] = []
    async for line in process.stdout:
        logs.append(json.loads(line))
        if logs[-1].get("event") == "service started":
            return logs
    raise RuntimeError(f"exited with {await process.wait()} before starting: {logs}")


async def check_serves_and_stops(module: str, service: str, dependencies: list[str]) -> None:
    """The contract every gRPC service keeps: /health and gRPC health answer,
    GetInfo names its dependencies (all down here: they sit at closed ports),
    and SIGTERM stops it cleanly with exit code 0."""
    async with service_process(module) as process:
        status, body = await process.http_request("/health")
        grpc_health = await process.health_status()
        info = await process.get_info()
        exit_code = await process.terminate()

    health = json.loads(body)
    assert (status, health["status"], health["service"]) == (200, "ok", service)
    assert health["version"] == "0.1.0"
    assert grpc_health == health_pb2.HealthCheckResponse.SERVING
    assert info.service == service
    assert [(d.name, d.ok) for d in info.dependencies] == [(d, False) for d in dependencies]
    assert exit_code == 0
    assert process.logs[-1]["event"] == "service stopped"


class RecordedStream(EventPublisher):
    """The event stream in memory: an EventPublisher that keeps what it is
    given, in order, and reads the last event of a subject back as JetStream
    does (a simpipe_events.last_event.LastMessages). `answers` decide the next
    publishes in turn: None acknowledges, an exception is raised (NATS did
    not acknowledge); once they are used up, every publish is acknowledged."""

    def __init__(self) -> None:
        super().__init__(NatsBroker())
        self.events: list[Message] = []
        self.answers: list[Exception | None] = []

    async def publish(self, event: Message) -> int:
        contract.subject_of(event)  # an event without a subject raises, as it does for real
        refusal = self.answers.pop(0) if self.answers else None
        if refusal is not None:
            raise refusal
        self.events.append(event)
        return len(self.events)

    def publish_soon(self, event: Message) -> None:
        contract.subject_of(event)
        self.events.append(event)

    @property
    def subjects(self) -> list[str]:
        return [contract.subject_of(event) for event in self.events]

    async def get_last_msg(
        self, stream_name: str, subject: str, direct: bool | None = False
    ) -> RawStreamMsg:
        if stream_name == STREAM:
            for sequence, event in reversed(list(enumerate(self.events, start=1))):
                if contract.subject_of(event) == subject:
                    return RawStreamMsg(
                        subject=subject,
                        seq=sequence,
                        data=event.SerializeToString(),
                        headers=headers(event),
                        stream=STREAM,
                    )
        raise NotFoundError


@contextmanager
def moto_s3() -> Iterator[str]:
    """An S3 on a free loopback port (moto's server), for code that talks to
    S3 over HTTP like the services do; its endpoint URL."""
    from moto.server import ThreadedMotoServer  # a test dependency only

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
