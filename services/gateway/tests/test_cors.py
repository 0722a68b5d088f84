import asyncio
import os
import sys

import httpx
import pytest
from pydantic import ValidationError

from simpipe_common.event_broker import EventBroker
from simpipe_common.testing import UNREACHABLE_ENV
from simpipe_gateway.app import GraphQLApp
from simpipe_gateway.config import GatewaySettings, is_loopback
from simpipe_gateway.cors import PREFLIGHT_MAX_AGE_SECONDS, parse_origins, with_cors
from simpipe_gateway.run_feed import RunFeed

TOKEN = "test-token-0123456789abcdef"
GUI = "http://127.0.0.1:5173"


def client_of(origins: str) -> httpx.AsyncClient:
    settings = GatewaySettings(
        api_tokens=f"{TOKEN}=alice", mesh_insecure=True, cors_allowed_origins=origins
    )
    app = GraphQLApp(settings, RunFeed(EventBroker(settings, "gateway")))
    served = with_cors(app, parse_origins(settings.cors_allowed_origins))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://gw")


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, mode",
    }


async def test_a_configured_origin_passes_the_preflight_and_reads_the_answer() -> None:
    async with client_of(f"{GUI}, https://gui.example.org") as client:
        preflight = await client.options("/graphql", headers=preflight_headers(GUI))
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == GUI
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert preflight.headers["access-control-max-age"] == str(PREFLIGHT_MAX_AGE_SECONDS)
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed
        assert "content-type" in allowed
        answer = await client.post(
            "/graphql",
            json={"query": "{ username }"},
            headers={"Origin": GUI, "Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.json() == {"data": {"username": "alice"}}
        assert answer.headers["access-control-allow-origin"] == GUI


async def test_another_origin_is_refused_and_its_page_cannot_read_answers() -> None:
    async with client_of(GUI) as client:
        preflight = await client.options(
            "/graphql", headers=preflight_headers("http://evil.example")
        )
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
        answer = await client.post(
            "/graphql", json={"query": "{ ping }"}, headers={"Origin": "http://evil.example"}
        )
        assert "access-control-allow-origin" not in answer.headers


async def test_without_configured_origins_no_cross_origin_header_is_sent() -> None:
    async with client_of("") as client:
        preflight = await client.options("/graphql", headers=preflight_headers(GUI))
        assert "access-control-allow-origin" not in preflight.headers
        answer = await client.post("/graphql", json={"query": "{ ping }"}, headers={"Origin": GUI})
        assert answer.json() == {"data": {"ping": "pong"}}
        assert "access-control-allow-origin" not in answer.headers


def test_origins_are_parsed_and_trailing_slashes_dropped() -> None:
    assert parse_origins(" http://a.test:8000/ ,https://b.test") == (
        "http://a.test:8000",
        "https://b.test",
    )
    assert parse_origins("") == ()


@pytest.mark.parametrize(
    "bad",
    [
        "*",
        "http://*.example.org",
        "ftp://gui.test",
        "gui.test",
        "http://gui.test/path",
        "http://gui.test?x=1",
        "http://user@gui.test",
        "http://gui.test:notaport",
        "http://gui.test:0",
    ],
)
def test_a_bad_origin_stops_the_start_naming_it(bad: str) -> None:
    with pytest.raises(ValidationError, match="CORS origin"):
        GatewaySettings(cors_allowed_origins=f"http://ok.test,{bad}")


def test_too_many_origins_are_refused() -> None:
    many = ",".join(f"http://gui{i}.test" for i in range(51))
    with pytest.raises(ValidationError, match="at most 50 CORS origins"):
        GatewaySettings(cors_allowed_origins=many)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "localhost", "example.org"])
def test_authentication_can_be_off_only_on_a_loopback_address(host: str) -> None:
    with pytest.raises(ValidationError, match="must then listen on a loopback address"):
        GatewaySettings(auth_disabled=True, bind_host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_loopback_addresses_allow_authentication_off(host: str) -> None:
    assert is_loopback(host)
    assert GatewaySettings(auth_disabled=True, bind_host=host).auth_disabled


async def test_the_gateway_will_not_start_without_authentication_on_another_address() -> None:
    env = {
        **os.environ,
        **UNREACHABLE_ENV,
        "SIMPIPE_AUTH_DISABLED": "true",
        "SIMPIPE_BIND_HOST": "0.0.0.0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simpipe_gateway", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "must then listen on a loopback address" in stderr.decode()
    assert "'0.0.0.0'" in stderr.decode()
