import base64
import hashlib
import os
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from simpipe_common.http import HealthApp
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.web_files import IMMUTABLE, WebFiles, content_security_policy

ENTRY = b"<!doctype html><title>SIM-PIPE</title>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_bytes(ENTRY)
    (tmp_path / "_app" / "immutable").mkdir(parents=True)
    (tmp_path / "_app" / "immutable" / "start.abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.png").write_bytes(b"png")
    return tmp_path


async def api(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not the API")


def client(built: Path) -> httpx.AsyncClient:
    app = HealthApp("gateway", "0", [], {"/graphql": api}, fallback=WebFiles(built))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_the_entry_page_answers_the_root_and_the_apps_own_routes(built: Path) -> None:
    async with client(built) as http:
        for path in ("/", "/projects", "/projects/p-1/runs/r-2"):
            response = await http.get(path)
            assert (response.status_code, response.content) == (200, ENTRY), path
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"


async def test_files_are_served_and_hashed_ones_kept_by_browsers(built: Path) -> None:
    async with client(built) as http:
        script = await http.get("/_app/immutable/start.abc123.js")
        assert script.text == "console.log(1)"
        assert script.headers["cache-control"] == IMMUTABLE
        assert (await http.get("/favicon.png")).headers["cache-control"] == "no-cache"


async def test_a_missing_file_is_404_not_the_entry_page(built: Path) -> None:
    async with client(built) as http:
        assert (await http.get("/_app/immutable/gone.js")).status_code == 404
        assert (await http.get("/logo.svg")).status_code == 404


async def test_a_path_outside_the_directory_is_refused(built: Path, tmp_path: Path) -> None:
    async with client(built) as http:
        response = await http.get("/../../etc/passwd")
        assert response.content in (ENTRY, b"Not Found")
        assert b"root:" not in response.content


async def test_health_is_still_health(built: Path) -> None:
    async with client(built) as http:
        assert (await http.get("/health")).json()["service"] == "gateway"


def test_a_web_dir_without_a_built_app_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"holds no index\.html"):
        GatewaySettings(web_dir=tmp_path)


async def test_a_build_taken_away_answers_503_not_a_fault(built: Path) -> None:
    async with client(built) as http:
        (built / "index.html").unlink()
        for path in ("/", "/projects/p-1"):
            response = await http.get(path)
            assert response.status_code == 503
            assert "not built" in response.text


PAGE_WITH_SCRIPTS = """<!doctype html><head><script>
  setTheme();
</script><script type="module" src="/_app/immutable/start.abc123.js"></script>
</head><body><SCRIPT data-x="1">boot()</SCRIPT></body>"""


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (d.split() for d in policy.split("; "))}


def test_the_policy_allows_exactly_the_pages_inline_scripts_and_named_origins() -> None:
    policy = directives(content_security_policy(PAGE_WITH_SCRIPTS, ["http://127.0.0.1:9000"]))
    # Inline scripts by hash (not the one loaded by src), no 'unsafe-inline' for scripts.
    assert policy["script-src"] == [
        "'self'",
        sha256_source("\n  setTheme();\n"),
        sha256_source("boot()"),
    ]
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:9000"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]


async def test_every_answer_carries_the_policy_made_again_when_the_page_is_rebuilt(
    built: Path,
) -> None:
    app = HealthApp("gateway", "0", [], {}, fallback=WebFiles(built, ("http://127.0.0.1:9000",)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as http:
        for path in ("/", "/projects", "/_app/immutable/start.abc123.js", "/nothing.js"):
            policy = directives((await http.get(path)).headers["content-security-policy"])
            assert policy["script-src"] == ["'self'"], path
            assert policy["connect-src"] == ["'self'", "http://127.0.0.1:9000"], path
        entry = built / "index.html"
        entry.write_text("<script>rebuilt()</script>")
        # A later mtime, as a rebuild's (file systems keep coarse times).
        stat = entry.stat()
        os.utime(entry, (stat.st_atime, stat.st_mtime + 5))
        policy = directives((await http.get("/")).headers["content-security-policy"])
        assert policy["script-src"] == ["'self'", sha256_source("rebuilt()")]


def test_connect_sources_are_origins_checked_at_start(built: Path) -> None:
    with pytest.raises(ValidationError, match="SIMPIPE_WEB_CONNECT_SOURCES origin"):
        GatewaySettings(web_dir=built, web_connect_sources="http://minio:9000/bucket")
    with pytest.raises(ValidationError, match="named exactly"):
        GatewaySettings(web_dir=built, web_connect_sources="*")
