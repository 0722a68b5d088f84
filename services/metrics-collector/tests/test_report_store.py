"""Run reports' presigned URLs point at the S3 endpoint their readers reach."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import pytest

from simpipe_common.s3 import s3_client
from simpipe_metrics_collector.config import MetricsCollectorSettings
from simpipe_metrics_collector.report_store import ReportStore, report_keys

INTERNAL = "http://minio.internal:9000"
PUBLIC = "https://files.example.org"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> MetricsCollectorSettings:
    monkeypatch.setenv("SIMPIPE_S3_ENDPOINT", INTERNAL)
    monkeypatch.setenv("SIMPIPE_S3_ACCESS_KEY", "key")
    monkeypatch.setenv("SIMPIPE_S3_SECRET_KEY", "secret")
    monkeypatch.delenv("SIMPIPE_S3_PUBLIC_ENDPOINT", raising=False)
    return MetricsCollectorSettings()


async def store_of(settings: MetricsCollectorSettings) -> AsyncIterator[ReportStore]:
    async with AsyncExitStack() as stack:
        s3 = await stack.enter_async_context(s3_client(settings, 1))
        signer = await stack.enter_async_context(s3_client(settings, 1, settings.presign_endpoint))
        yield ReportStore(s3, signer, "simpipe-reports", 60)


def test_the_public_endpoint_is_the_internal_one_unless_set(
    settings: MetricsCollectorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.presign_endpoint == INTERNAL
    monkeypatch.setenv("SIMPIPE_S3_PUBLIC_ENDPOINT", PUBLIC)
    assert MetricsCollectorSettings().presign_endpoint == PUBLIC


@pytest.mark.parametrize(("public", "expected"), [("", INTERNAL), (PUBLIC, PUBLIC)])
async def test_report_urls_use_the_public_endpoint_when_set(
    settings: MetricsCollectorSettings,
    monkeypatch: pytest.MonkeyPatch,
    public: str,
    expected: str,
) -> None:
    monkeypatch.setenv("SIMPIPE_S3_PUBLIC_ENDPOINT", public)
    keys = report_keys("alice", "run-a", "uid-1")
    async for store in store_of(MetricsCollectorSettings()):
        url = urlsplit(await store.url(keys.json))
    assert f"{url.scheme}://{url.netloc}" == expected
    assert url.path == f"/simpipe-reports/{keys.json}"
    assert "X-Amz-Signature=" in url.query
