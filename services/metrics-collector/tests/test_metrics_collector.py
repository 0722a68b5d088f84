import pytest

from simpipe_common.testing import check_serves_and_stops
from simpipe_metrics_collector.config import MetricsCollectorSettings


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("SIMPIPE_S3_SECRET_KEY", "secret")
    settings = MetricsCollectorSettings()
    assert (settings.grpc_port, settings.http_port) == (50053, 9103)
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert MetricsCollectorSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops(
        "simpipe_metrics_collector", "metrics-collector", ["nats", "prometheus", "s3", "events"]
    )
