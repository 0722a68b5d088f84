import httpx

from simpipe_common.checks import CheckResult
from simpipe_common.http import HealthApp, Receive, Scope, Send


async def ready() -> CheckResult:
    return CheckResult("ready", True, "")


async def draining() -> CheckResult:
    return CheckResult("accepting", False, "stopping")


def client(app: HealthApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_health_reports_service_and_version() -> None:
    async with client(HealthApp("demo", "1.2.3", [ready], routes={})) as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "demo", "version": "1.2.3"}


async def test_health_is_503_while_a_readiness_check_fails() -> None:
    async with client(HealthApp("demo", "1.2.3", [ready, draining], routes={})) as http:
        response = await http.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "service": "demo",
        "version": "1.2.3",
        "failing": {"accepting": "stopping"},
    }


async def test_metrics_are_prometheus_exposition() -> None:
    async with client(HealthApp("demo", "1", [], routes={})) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "python_info" in response.text


async def test_mounted_routes_and_unknown_paths() -> None:
    async def hello(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    async with client(HealthApp("demo", "1", [], routes={"/hello": hello})) as http:
        assert (await http.get("/hello")).text == "hello"
        assert (await http.get("/elsewhere")).status_code == 404
