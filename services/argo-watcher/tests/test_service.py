import json

import pytest
from grpc_health.v1 import health_pb2

from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_common.testing import service_process


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ArgoWatcherSettings()
    assert (settings.grpc_port, settings.http_port) == (50052, 9102)
    assert settings.namespace == "simpipe"
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert ArgoWatcherSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    async with service_process("simpipe_argo_watcher") as service:
        status, body = await service.http_request("/health")
        grpc_health = await service.health_status()
        info = await service.get_info()
        exit_code = await service.terminate()

    assert (status, json.loads(body)) == (
        200,
        {"status": "ok", "service": "argo-watcher", "version": "0.1.0"},
    )
    assert grpc_health == health_pb2.HealthCheckResponse.SERVING
    assert info.service == "argo-watcher"
    # Every dependency sits at a closed loopback port in this test.
    assert [(d.name, d.ok) for d in info.dependencies] == [
        ("nats", False),
        ("kubernetes", False),
        ("argo", False),
    ]
    assert exit_code == 0
    assert service.logs[-1]["event"] == "service stopped"
