from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from simpipe_common.http import HealthApp
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.web_files import IMMUTABLE, WebFiles

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
