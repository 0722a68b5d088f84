import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_common.checks import CheckResult
from simpipe_common.errors import StartupError
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.runner import Service, ServiceRunner, run_service
from simpipe_common.settings import GrpcServiceSettings, ServiceSettings
from simpipe_common.testing import throwaway_mesh

# The runner reads the version of the package simpipe-<name>; this one is installed.
NAME = "common"


def grpc_settings(**changes: object) -> GrpcServiceSettings:
    """Loopback, free ports, the service's certificate of the test run's CA."""
    tls = throwaway_mesh().settings(NAME)
    return GrpcServiceSettings(
        bind_host="127.0.0.1",
        http_port=0,
        grpc_port=0,
        tls_ca_file=tls.tls_ca_file,
        tls_cert_file=tls.tls_cert_file,
        tls_key_file=tls.tls_key_file,
        **changes,  # type: ignore[arg-type]
    )


def as_tests(target: str) -> grpc.aio.Channel:
    return mesh_channel(target, throwaway_mesh().settings())


@dataclass
class Running:
    runner: ServiceRunner
    task: asyncio.Task[None]
    dependency_checked: asyncio.Event

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.runner.grpc_port}"

    def terminate(self) -> None:
        # A real SIGTERM to this process: the runner's handler must catch it.
        os.kill(os.getpid(), signal.SIGTERM)


async def start(settings: ServiceSettings) -> Running:
    checked = asyncio.Event()

    async def slow_dependency() -> CheckResult:
        checked.set()
        await asyncio.sleep(0.5)
        return CheckResult("slow", True, "answered")

    runner = ServiceRunner(Service(name=NAME, settings=settings, dependencies=[slow_dependency]))
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.started.wait(), 10)
    return Running(runner, task, checked)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    running = await start(grpc_settings())
    yield running
    if not running.task.done():
        running.terminate()
    await asyncio.wait_for(running.task, 10)


async def test_serves_health_and_metrics_over_http(running: Running) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.runner.http_port}") as http:
        health = await http.get("/health")
        metrics = await http.get("/metrics")
    assert health.json() == {"status": "ok", "service": NAME, "version": "0.1.0"}
    assert 'simpipe_service_info{service="common",version="0.1.0"} 1.0' in metrics.text


async def listed_services(channel: grpc.aio.Channel) -> set[str]:
    reflect = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    call = reflect(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    return {s.name async for r in call for s in r.list_services_response.service}


async def test_serves_grpc_health_to_any_peer_of_the_mesh(running: Running) -> None:
    async with as_tests(running.grpc_target) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        for service in ("", "simpipe.v1.ServiceInfo"):
            response = await check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_is_off_by_default(running: Running) -> None:
    async with as_tests(running.grpc_target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await listed_services(channel)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_reflection_lists_the_services_when_enabled() -> None:
    # Not beside the `running` fixture: one runner's SIGTERM handler at a time.
    enabled = await start(grpc_settings(grpc_reflection=True))
    try:
        async with as_tests(enabled.grpc_target) as channel:
            services = await listed_services(channel)
    finally:
        enabled.terminate()
        await asyncio.wait_for(enabled.task, 10)
    assert services == {
        "simpipe.v1.ServiceInfo",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_a_service_without_its_mesh_identity_does_not_start() -> None:
    settings = GrpcServiceSettings(bind_host="127.0.0.1", http_port=0, grpc_port=0)
    runner = ServiceRunner(Service(name=NAME, settings=settings))
    with pytest.raises(StartupError, match="SIMPIPE_TLS_CA_FILE"):
        await asyncio.wait_for(runner.run(), 10)
    assert runner.http_port is None, "it stopped before it served"


async def test_an_insecure_mesh_is_plaintext_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = await start(
        GrpcServiceSettings(bind_host="127.0.0.1", http_port=0, grpc_port=0, mesh_insecure=True)
    )
    try:
        async with grpc.aio.insecure_channel(running.grpc_target) as channel:
            stub = service_info_pb2_grpc.ServiceInfoStub(channel)
            info = await stub.GetInfo(service_info_pb2.GetInfoRequest(), timeout=10)
    finally:
        running.terminate()
        await asyncio.wait_for(running.task, 10)
    assert info.service == NAME
    assert "the mesh runs insecure" in capsys.readouterr().out


async def test_sigterm_drains_in_flight_rpcs_then_stops(running: Running) -> None:
    async with as_tests(running.grpc_target) as channel:
        stub = service_info_pb2_grpc.ServiceInfoStub(channel)
        in_flight = asyncio.ensure_future(stub.GetInfo(service_info_pb2.GetInfoRequest()))
        await asyncio.wait_for(running.dependency_checked.wait(), 10)  # the RPC is in flight
        running.terminate()
        info = await in_flight

    await asyncio.wait_for(running.task, 10)
    assert info.service == NAME
    assert [(d.name, d.ok, d.detail) for d in info.dependencies] == [("slow", True, "answered")]
    assert info.started_at.seconds > 0
    for port in (running.runner.http_port, running.runner.grpc_port):
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)


async def test_http_only_service_serves_no_grpc() -> None:
    tls = throwaway_mesh().settings(NAME)
    running = await start(tls.model_copy(update={"bind_host": "127.0.0.1", "http_port": 0}))
    assert running.runner.grpc_port is None
    running.terminate()
    await asyncio.wait_for(running.task, 10)


@pytest.mark.parametrize(("uvloop", "loop_module"), [(True, "uvloop"), (False, "asyncio")])
def test_a_service_runs_on_uvloop_unless_it_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, uvloop: bool, loop_module: str
) -> None:
    seen: list[str] = []

    async def record_the_loop(self: ServiceRunner) -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    monkeypatch.setattr(ServiceRunner, "run", record_the_loop)
    run_service(Service(name="loop-test", settings=ServiceSettings(), uvloop=uvloop))
    assert [module.split(".")[0] for module in seen] == [loop_module]
