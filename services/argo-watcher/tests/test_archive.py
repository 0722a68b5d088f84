"""How the Argo server's answers map to errors: only 404 is "not found"."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_common.argo_auth import ArgoToken
from simpipe_common.errors import NotFoundError, UnavailableError

ARGO = "http://argo-server:2746"


def answering(status: int, text: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, text=text))


@pytest.fixture
async def archive() -> AsyncIterator[ArgoArchive]:
    archive = ArgoArchive(ARGO, ("simpipe", "simpipe-sim"), 1)
    yield archive
    await archive.close()


async def serve(archive: ArgoArchive, transport: httpx.MockTransport) -> None:
    await archive._http.aclose()
    archive._http = httpx.AsyncClient(base_url=ARGO, transport=transport)


async def test_a_step_log_is_read(archive: ArgoArchive) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, text="loading\nexit 3\n")

    await serve(archive, httpx.MockTransport(handler))
    assert await archive.step_log("simpipe", "run-1", "uid-1", "run-1-42", archived=True) == (
        "loading\nexit 3\n"
    )
    assert await archive.step_log("simpipe-sim", "run-1", "uid-1", "run-1-42", False) == (
        "loading\nexit 3\n"
    )
    # A run that does not say where it is (read before runs said): the first namespace.
    assert await archive.step_log("", "run-1", "uid-1", "run-1-42", archived=True)
    assert seen == [
        "/artifact-files/simpipe/archived-workflows/uid-1/run-1-42/outputs/main-logs",
        "/artifact-files/simpipe-sim/workflows/run-1/run-1-42/outputs/main-logs",
        "/artifact-files/simpipe/archived-workflows/uid-1/run-1-42/outputs/main-logs",
    ]


async def test_archived_runs_are_listed_from_every_run_namespace(archive: ArgoArchive) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        namespace = request.url.params["namespace"]
        asked.append(namespace)
        item = {"metadata": {"name": f"run-in-{namespace}", "namespace": namespace}}
        return httpx.Response(200, json={"items": [item]})

    await serve(archive, httpx.MockTransport(handler))
    found = await archive.list("simpipe.io/owner=abc")
    assert asked == ["simpipe", "simpipe-sim"]
    assert [w["metadata"]["name"] for w in found] == ["run-in-simpipe", "run-in-simpipe-sim"]


async def test_a_step_log_the_argo_server_does_not_have_is_not_found(
    archive: ArgoArchive,
) -> None:
    await serve(archive, answering(404, "not found"))
    with pytest.raises(NotFoundError, match="run-1-42"):
        await archive.step_log("simpipe", "run-1", "uid-1", "run-1-42", archived=True)


@pytest.mark.parametrize("status", [500, 502, 403])
async def test_a_step_log_the_argo_server_fails_to_serve_is_unavailable(
    archive: ArgoArchive, status: int
) -> None:
    await serve(archive, answering(status, "it broke"))
    with pytest.raises(UnavailableError, match=f"HTTP {status}"):
        await archive.step_log("simpipe", "run-1", "uid-1", "run-1-42", archived=True)


async def test_an_archived_workflow_that_is_gone_is_none_and_a_failure_unavailable(
    archive: ArgoArchive,
) -> None:
    await serve(archive, answering(404, "not found"))
    assert await archive.get("uid-1") is None
    await serve(archive, answering(500, "it broke"))
    with pytest.raises(UnavailableError, match="HTTP 500"):
        await archive.get("uid-1")


async def test_the_token_is_sent_and_a_replaced_one_retried_once_after_401(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "argo.token"
    token_file.write_text("old\n")
    archive = ArgoArchive(ARGO, ("simpipe",), 1, ArgoToken(token_file))
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != "Bearer new":
            return httpx.Response(401, text="token not valid")
        return httpx.Response(200, json={"items": []})

    await serve(archive, httpx.MockTransport(handler))
    # Expired and not replaced yet: refused once, not retried with the same token.
    with pytest.raises(UnavailableError, match="HTTP 401"):
        await archive.list("simpipe.io/owner=x")
    assert seen == ["Bearer old"]
    # Replaced so that the file looks the same (inode, size, mtime): only
    # the 401 makes the archive read it again.
    looks = token_file.stat()
    token_file.write_text("new\n")
    os.utime(token_file, ns=(looks.st_atime_ns, looks.st_mtime_ns))
    seen.clear()
    assert await archive.list("simpipe.io/owner=x") == []
    assert seen == ["Bearer old", "Bearer new"]
    await archive.close()
