import pytest

from simpipe_common.testing import check_serves_and_stops
from simpipe_kwok_scaler.config import KwokScalerSettings


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("SIMPIPE_S3_SECRET_KEY", "secret")
    settings = KwokScalerSettings()
    assert (settings.grpc_port, settings.http_port) == (50055, 9105)
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert KwokScalerSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops(
        "simpipe_kwok_scaler", "kwok-scaler", ["nats", "kubernetes", "s3", "events"]
    )
