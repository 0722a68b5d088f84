import pytest

from simpipe_common.testing import check_serves_and_stops
from simpipe_storage_broker.config import StorageBrokerSettings


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("SIMPIPE_S3_SECRET_KEY", "secret")
    settings = StorageBrokerSettings()
    assert (settings.grpc_port, settings.http_port) == (50054, 9104)
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert StorageBrokerSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops("simpipe_storage_broker", "storage-broker", ["nats", "s3"])
