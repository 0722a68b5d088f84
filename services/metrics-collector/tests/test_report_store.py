"""Run reports' presigned URLs point at the S3 endpoint their readers reach."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import pytest

from simpipe_common.s3 import s3_client
from simpipe_common.testing import moto_s3
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


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


async def test_reports_are_stored_found_and_read_on_s3(
    settings: MetricsCollectorSettings, moto_endpoint: str
) -> None:
    """The store the API's tests replace by a dict, on moto's S3 server."""
    on_moto = settings.model_copy(update={"s3_endpoint": moto_endpoint})
    async with s3_client(on_moto, 5) as s3:
        await s3.create_bucket(Bucket="simpipe-reports")
    async for store in store_of(on_moto):
        first, second = (report_keys("alice", "run-a", uid) for uid in ("uid-1", "uid-2"))
        assert not await store.exists(first)
        assert await store.latest("alice", "run-a") is None
        for keys in (first, second):
            await store.put(keys, json.dumps({"json": keys.json}).encode(), b"PAR1")
        assert await store.exists(first)
        # Newest by S3's LastModified (whole seconds): either, with its own Parquet key.
        latest = await store.latest("alice", "run-a")
        assert latest is not None
        assert latest.keys in (first, second)
        assert (await store.read(latest.keys.json)) == {"json": latest.keys.json}
        # The owner is part of the key: another caller finds nothing.
        assert await store.latest("bob", "run-a") is None
