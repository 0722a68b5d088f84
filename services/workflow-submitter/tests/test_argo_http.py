"""The asyncio HTTP client of the create path, and the typed errors of a
create, against small servers on 127.0.0.1 that answer the way we tell them."""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest

from simpipe_common.argo_auth import ArgoToken
from simpipe_common.errors import (
    ConflictError,
    InvalidArgoDocumentError,
    NotFoundError,
    UnavailableError,
)
from simpipe_workflow_submitter import argo_http
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.argo_http import ArgoHttp, ArgoHttpError

# What a handler gets: the request's head and body; it writes the answer.
Handler = Callable[[bytes, bytes, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                await self.handler(head, body, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[Server, str]]:
    server = Server(handler)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        listener.close()


def answer(status: int, body: bytes, *extra: str) -> Handler:
    async def handle(head: bytes, _: bytes, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *extra]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return handle


async def test_keeps_one_connection_for_requests_in_turn() -> None:
    async with serving(answer(200, b'{"ok":1}')) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        for _ in range(3):
            got = await client.post_json("/api/v1/x", b'{"a":1}')
            assert (got.status, got.body) == (200, b'{"ok":1}')
        await client.close()
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.startswith(b"POST /api/v1/x HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in head
    assert body == b'{"a":1}'


async def test_reads_a_chunked_answer() -> None:
    async def chunked(_: bytes, __: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4\r\n{"a"\r\n5;x=y\r\n:1234\r\n1\r\n}\r\n0\r\nTrailer: t\r\n\r\n'
        )
        await writer.drain()

    async with serving(chunked) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        assert (await client.post_json("/", b"{}")).body == b'{"a":1234}'
        assert (await client.post_json("/", b"{}")).body == b'{"a":1234}'
        await client.close()
    assert server.connections == 1


async def test_connection_close_is_honoured_and_an_unframed_answer_refused() -> None:
    async def closing(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        await answer(200, b"{}", "Connection: close")(head, body, writer)
        writer.close()

    async def until_eof(_: bytes, __: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with serving(closing) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        assert (await client.post_json("/", b"{}")).body == b"{}"
        assert (await client.post_json("/", b"{}")).body == b"{}"
    assert server.connections == 2
    # With no length, a cut-short answer looks like a whole one: Argo always
    # frames its answers, so such an answer is refused.
    async with serving(until_eof) as (_, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        with pytest.raises(ArgoHttpError, match="closed the connection inside the answer"):
            await client.post_json("/", b"{}")


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def then_close(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        await answer(200, b"{}")(head, body, writer)
        writer.close()  # as an idle timeout would, but with no Connection: close

    async with serving(then_close) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        await client.post_json("/", b"1")
        await asyncio.sleep(0.05)  # idle: the close reaches the client
        await client.post_json("/", b"2")
    # Each request reached the server once, each on a connection of its own.
    assert [body for _, body in server.requests] == [b"1", b"2"]
    assert server.connections == 2


async def test_a_pooled_connection_dropped_unseen_fails_that_request_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pool cannot see the server's close before reuse (the race with an
    # idle timeout): that request fails, and is not sent again, since a POST
    # the server may have read must not be repeated blindly.
    monkeypatch.setattr(argo_http._Connection, "reusable", lambda self: True)

    async def answers_then_drops(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        await answer(200, b"{}")(head, body, writer)
        writer.close()

    async with serving(answers_then_drops) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        await client.post_json("/", b"1")
        await asyncio.sleep(0.05)
        with pytest.raises(ArgoHttpError, match="without answering"):
            await client.post_json("/", b"2")
        await client.post_json("/", b"3")  # the next one gets a new connection
    assert [body for _, body in server.requests] == [b"1", b"3"]
    assert server.connections == 2


async def test_a_new_connection_that_gets_no_answer_is_not_retried() -> None:
    async def drop(_: bytes, __: bytes, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serving(drop) as (server, url):
        client = ArgoHttp(url, verify_ssl=False, timeout_seconds=5)
        with pytest.raises(ArgoHttpError, match="without answering"):
            await client.post_json("/", b"once")
    assert [body for _, body in server.requests] == [b"once"]


async def test_failures_are_argo_http_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def silent(_: bytes, __: bytes, ___: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    async def not_http(_: bytes, __: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async with serving(silent) as (_, url):
        with pytest.raises(ArgoHttpError, match=r"no answer within 0\.2 s"):
            await ArgoHttp(url, verify_ssl=False, timeout_seconds=0.2).post_json("/", b"{}")
    async with serving(not_http) as (_, url):
        with pytest.raises(ArgoHttpError, match="not an HTTP answer"):
            await ArgoHttp(url, verify_ssl=False, timeout_seconds=5).post_json("/", b"{}")
    monkeypatch.setattr(argo_http, "MAX_ANSWER_BYTES", 100)
    async with serving(answer(200, b"x" * 200)) as (_, url):
        with pytest.raises(ArgoHttpError, match="over 100 bytes"):
            await ArgoHttp(url, verify_ssl=False, timeout_seconds=5).post_json("/", b"{}")
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(ArgoHttpError, match="ConnectionRefusedError"):
        await ArgoHttp(f"http://127.0.0.1:{port}", False, 5).post_json("/", b"{}")


def test_only_http_urls_with_a_host_are_taken() -> None:
    for url in ("ftp://argo:2746", "http://", "argo:2746"):
        with pytest.raises(ValueError, match="http"):
            ArgoHttp(url, verify_ssl=False, timeout_seconds=5)


WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "t-", "labels": {"a": "b"}},
    "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "x"}}]},
}


async def create(handler: Handler) -> tuple[Server, object]:
    async with serving(handler) as (server, url):
        argo = Argo(url, "simpipe")
        try:
            return server, await argo.create_workflow(json.loads(json.dumps(WORKFLOW)))
        finally:
            await argo.close()


async def test_a_create_sends_the_document_and_keeps_the_identity() -> None:
    stored = {"metadata": {"name": "t-abcde", "uid": "u-1", "labels": {"a": "b"}}, "spec": {}}
    server, created = await create(answer(200, json.dumps(stored).encode()))
    head, body = server.requests[0]
    assert head.startswith(b"POST /api/v1/workflows/simpipe HTTP/1.1")
    assert json.loads(body) == {"workflow": WORKFLOW}
    assert (created.name, created.uid) == ("t-abcde", "u-1")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, b'{"code":3,"message":"templates.main: bad"}', InvalidArgoDocumentError,
         "Argo rejected the Workflow: templates.main: bad"),
        (409, b'{"message":"exists"}', ConflictError, "already exists"),
        (500, b"<html>oops</html>", UnavailableError, "the Argo server failed: .*oops"),
        (200, b'{"kind":"Workflow"}', UnavailableError, "without the Workflow's metadata"),
        (200, b"not json", UnavailableError, "without the Workflow's metadata"),
    ],
)  # fmt: skip
async def test_a_failed_create_is_a_typed_error(
    status: int, body: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await create(answer(status, body))


async def test_a_document_argo_refuses_is_explained_by_heras_model() -> None:
    refusal = answer(400, b'{"message":"json: cannot unmarshal string into templates"}')
    async with serving(refusal) as (server, url):
        argo = Argo(url, "simpipe")
        bad = {**WORKFLOW, "spec": {"templates": "not a list"}}
        with pytest.raises(InvalidArgoDocumentError, match=r"not a valid Argo Workflow.*templates"):
            await argo.create_workflow(bad)
        await argo.close()
    assert len(server.requests) == 1


async def test_values_that_are_not_json_go_nowhere() -> None:
    async with serving(answer(200, b"{}")) as (server, url):
        argo = Argo(url, "simpipe")
        for value in (b"\x00\x01", date(2026, 1, 31)):  # YAML's !!binary, !!timestamp
            odd = json.loads(json.dumps(WORKFLOW))
            odd["metadata"]["annotations"] = {"value": value}
            with pytest.raises(InvalidArgoDocumentError, match="not"):
                await argo.create_workflow(odd)
        await argo.close()
    assert server.requests == []


def _looking_the_same(path: Path, token: str) -> None:
    """Rewrites the token file keeping inode, size and mtime: only a forced
    read (after a 401) sees the new token."""
    looks = path.stat()
    path.write_text(token + "\n")
    os.utime(path, ns=(looks.st_atime_ns, looks.st_mtime_ns))


async def test_calls_carry_the_token_and_a_replaced_one_is_tried_once(tmp_path: Path) -> None:
    token_file = tmp_path / "argo.token"
    token_file.write_text("aaa\n")
    accepted = ["bbb"]
    stored = json.dumps({"metadata": {"name": "t-1", "uid": "u-1"}, "spec": {}}).encode()

    async def gatekeeper(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        # As Argo's: 401 before anything is done, unless the token is valid.
        if f"Authorization: Bearer {accepted[0]}\r\n".encode() in head:
            await answer(200, stored)(head, body, writer)
        else:
            await answer(401, b'{"code":16,"message":"token not valid"}')(head, body, writer)

    async with serving(gatekeeper) as (server, url):
        argo = Argo(url, "simpipe", ArgoToken(token_file))
        # Refused, and the file holds the same token: not sent again.
        with pytest.raises(UnavailableError, match="refused the service's credentials"):
            await argo.create_workflow(json.loads(json.dumps(WORKFLOW)))
        _looking_the_same(token_file, "bbb")
        created = await argo.create_workflow(json.loads(json.dumps(WORKFLOW)))
        assert (created.name, created.uid) == ("t-1", "u-1")
        # hera's calls (every command but a create) likewise.
        accepted[0] = "ccc"
        _looking_the_same(token_file, "ccc")
        await argo.suspend("t-1", "simpipe")
        await argo.close()
    sent = [
        line.removeprefix(b"Authorization: Bearer ")
        for head, _ in server.requests
        for line in head.split(b"\r\n")
        if line.startswith(b"Authorization: ")
    ]
    assert sent == [b"aaa", b"aaa", b"bbb", b"bbb", b"ccc"]


async def test_a_run_is_looked_for_in_each_run_namespace_in_turn() -> None:
    stored = json.dumps(
        {"metadata": {"name": "r-1", "namespace": "simpipe-sim"}, "spec": {}}
    ).encode()

    async def only_in_the_simulations(
        head: bytes, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        found = b"/api/v1/workflows/simpipe-sim/r-1?" in head
        await answer(
            200 if found else 404, stored if found else b'{"code":5,"message":"not found"}'
        )(head, body, writer)

    async with serving(only_in_the_simulations) as (server, url):
        argo = Argo(url, "simpipe", run_namespaces=("simpipe", "simpipe-sim"))
        found = await argo.get_workflow("r-1")
        assert found["metadata"]["namespace"] == "simpipe-sim"
        with pytest.raises(NotFoundError, match="r-1"):
            await argo.get_workflow("r-1", "simpipe")
        await argo.close()
    paths = [head.split(b" ")[1].decode() for head, _ in server.requests]
    assert [path.split("?")[0] for path in paths] == [
        "/api/v1/workflows/simpipe/r-1",
        "/api/v1/workflows/simpipe-sim/r-1",
        "/api/v1/workflows/simpipe/r-1",
    ]
    # Only the metadata is asked for, namespace included.
    assert all("metadata.namespace" in unquote(path) for path in paths)
