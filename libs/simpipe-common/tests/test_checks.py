import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from simpipe_common.checks import CheckResult, dependency_check, http_check, nats_check
from simpipe_common.http import HealthApp, HttpServer, Receive, Scope, Send
from simpipe_common.kube import kubernetes_check
from simpipe_common.s3 import s3_check
from simpipe_common.settings import S3Settings

CLOSED = "127.0.0.1:9"


async def test_dependency_check_reports_the_probe_detail() -> None:
    async def probe() -> str:
        return "fine"

    assert await dependency_check("thing", probe, 1)() == CheckResult("thing", True, "fine")


async def test_dependency_check_turns_errors_into_results() -> None:
    async def probe() -> str:
        raise PermissionError("denied")

    assert await dependency_check("thing", probe, 1)() == CheckResult(
        "thing", False, "PermissionError: denied"
    )


async def test_dependency_check_gives_up_after_the_timeout() -> None:
    async def probe() -> str:
        await asyncio.sleep(10)
        return "late"

    started = time.monotonic()
    result = await dependency_check("thing", probe, 0.1)()
    assert result == CheckResult("thing", False, "no answer within 0.1s")
    assert time.monotonic() - started < 1


async def test_nats_check_reports_a_refused_connection_at_once() -> None:
    started = time.monotonic()
    result = await nats_check(f"nats://{CLOSED}", 2)()
    assert not result.ok
    assert "ConnectionRefusedError" in result.detail
    assert time.monotonic() - started < 1


async def unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def http_port() -> AsyncIterator[int]:
    app = HealthApp("demo", "1.0", [], routes={"/unavailable": unavailable})
    server = HttpServer(app, "127.0.0.1", 0, 1)
    port = await server.start()
    yield port
    await server.stop()


@pytest.mark.parametrize(("path", "ok", "status"), [("/health", True, 200), ("/nope", True, 404)])
async def test_http_check_counts_answers_below_500_as_reachable(
    http_port: int, path: str, ok: bool, status: int
) -> None:
    url = f"http://127.0.0.1:{http_port}{path}"
    assert await http_check("web", url, 2)() == CheckResult("web", ok, f"{url}: HTTP {status}")


async def test_http_check_fails_on_server_errors_and_refusals(http_port: int) -> None:
    assert not (await http_check("web", f"http://127.0.0.1:{http_port}/unavailable", 2)()).ok
    refused = await http_check("web", f"http://{CLOSED}/", 2)()
    assert not refused.ok
    assert "Connection refused" in refused.detail


async def test_kubernetes_check_without_a_kubeconfig_fails() -> None:
    result = await kubernetes_check(None, 2)()
    assert result.name == "kubernetes"
    assert not result.ok


async def test_s3_check_reports_an_unreachable_endpoint_fast() -> None:
    settings = S3Settings(s3_endpoint=f"http://{CLOSED}", s3_access_key="a", s3_secret_key="b")
    started = time.monotonic()
    result = await s3_check(settings, 2)()
    assert result.name == "s3"
    assert not result.ok
    assert "Could not connect" in result.detail
    assert time.monotonic() - started < 2
