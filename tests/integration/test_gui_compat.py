"""What a browser GUI served from its own origin needs of the real stack
(issue: the original SIM-PIPE GUI against our gateway): the gateway and S3
answer its origin's preflights, and nobody else's."""

import httpx

from simpipe_devstack.graphql_client import GraphQLClient
from simpipe_devstack.stack import Stack

OTHER_ORIGIN = "http://evil.example"


def gui_origin(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.layout.ports['gui']}"


def preflight(origin: str, method: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def test_the_gateway_answers_the_local_gui_origin_only(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    gui = gui_origin(stack)
    async with httpx.AsyncClient(timeout=10) as http:
        allowed = await http.options(endpoints["graphql"], headers=preflight(gui, "POST"))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == gui
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = await http.options(endpoints["graphql"], headers=preflight(OTHER_ORIGIN, "POST"))
        assert "access-control-allow-origin" not in refused.headers
        token = stack.secrets.api_tokens["local-dev"]
        answer = await http.post(
            endpoints["graphql"],
            json={"query": "{ username }"},
            headers={"Origin": gui, "Authorization": f"Bearer {token}"},
        )
        assert answer.json() == {"data": {"username": "local-dev"}}
        assert answer.headers["access-control-allow-origin"] == gui


async def test_a_presigned_upload_url_answers_the_local_gui_origin_only(
    stack: Stack, dev: GraphQLClient
) -> None:
    created = await dev.execute("mutation { computeUploadPresignedUrl }")
    url = created["computeUploadPresignedUrl"]
    gui = gui_origin(stack)
    async with httpx.AsyncClient(timeout=10) as http:
        allowed = await http.options(url, headers=preflight(gui, "PUT"))
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == gui
        refused = await http.options(url, headers=preflight(OTHER_ORIGIN, "PUT"))
        assert "access-control-allow-origin" not in refused.headers
        # The page's PUT itself is readable to it: the object lands.
        put = await http.put(url, content=b"from a page", headers={"Origin": gui})
        assert put.status_code == 200
        assert put.headers["access-control-allow-origin"] == gui
