import pytest

from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_common.testing import check_serves_and_stops


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ArgoWatcherSettings()
    assert (settings.grpc_port, settings.http_port) == (50052, 9102)
    assert settings.namespace == "simpipe"
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert ArgoWatcherSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops(
        "simpipe_argo_watcher", "argo-watcher", ["nats", "kubernetes", "argo", "events"]
    )
