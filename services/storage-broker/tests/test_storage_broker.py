import pytest

from simpipe_common.testing import check_serves_and_stops
from simpipe_storage_broker.config import StorageBrokerSettings


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("SIMPIPE_S3_SECRET_KEY", "secret")


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = StorageBrokerSettings()
    assert (settings.grpc_port, settings.http_port) == (50054, 9104)
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert StorageBrokerSettings().grpc_port == 6000


def test_presigned_urls_use_the_internal_endpoint_unless_a_public_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIMPIPE_S3_ENDPOINT", "http://minio.internal:9000")
    assert StorageBrokerSettings().presign_endpoint == "http://minio.internal:9000"
    monkeypatch.setenv("SIMPIPE_S3_PUBLIC_ENDPOINT", "https://files.example.org")
    assert StorageBrokerSettings().presign_endpoint == "https://files.example.org"


def test_reserved_buckets_and_ttls_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = StorageBrokerSettings()
    assert settings.reserved_buckets == {"argo-artifacts", "simpipe-reports"}
    assert (settings.presign_default_ttl_seconds, settings.presign_max_ttl_seconds) == (
        600,
        7 * 24 * 3600,
    )
    monkeypatch.setenv("SIMPIPE_RESERVED_BUCKETS", "argo-artifacts, logs ,")
    assert StorageBrokerSettings().reserved_buckets == {"argo-artifacts", "logs"}
    monkeypatch.setenv("SIMPIPE_PRESIGN_MAX_TTL_SECONDS", str(8 * 24 * 3600))
    with pytest.raises(ValueError, match="1-604800"):
        StorageBrokerSettings()


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops(
        "simpipe_storage_broker", "storage-broker", ["nats", "s3", "events"]
    )
