"""A small keep-alive HTTP/1.1 client on asyncio, for the Argo server's JSON
API on the createDryRun path.

hera's WorkflowsService is synchronous (requests, run in a worker thread). On
a create that was most of the submitter's own time: requests' per-call
machinery, two thread hops, and pydantic writing the request and reading the
whole stored Workflow back, of which only the name and uid are used. httpx
took as long; aiohttp was fast but weighs on a service that must idle under
100 MB. This client writes one request in one segment on a pooled connection
and reads one answer with httptools (the HTTP parser uvicorn uses), nothing
more.

It never sends a request twice: a POST the server may have read is not
repeated blindly. A pooled connection the server has closed is seen before
reuse; one closed in the moment between fails that request (the caller's
dry-run id makes its retry safe).
"""

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

# Idle connections older than this are closed, not reused: most servers drop
# theirs after 60-120 s, and a reused connection the server is closing loses
# the race.
IDLE_SECONDS = 30.0
MAX_IDLE_CONNECTIONS = 4
READ_BYTES = 64 * 1024
# Argo's objects are capped by etcd at ~1.5 MB; a created Workflow comes back
# as about its own size.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class ArgoHttpError(Exception):
    """No usable answer: connection refused or lost, timeout, or not HTTP."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def reusable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < IDLE_SECONDS
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class _Answer:
    """One answer as httptools' parser reports it."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body = bytearray()
        self.keep_alive = False
        self.complete = False

    def on_headers_complete(self) -> None:
        # Known only here: once the message is complete the parser has moved on.
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


async def _exchange(connection: _Connection, request: bytes) -> tuple[Answer, bool]:
    """One request and its answer; whether the connection can be kept."""
    connection.writer.write(request)
    await connection.writer.drain()
    answer = _Answer()
    received = 0
    while not answer.complete:
        data = await connection.reader.read(READ_BYTES)
        if not data:
            # Argo frames every answer (Content-Length or chunked): an answer
            # that ends with the connection is cut short, or none at all.
            what = "inside the answer" if received else "without answering"
            raise ArgoHttpError(f"the server closed the connection {what}")
        received += len(data)
        if received > MAX_ANSWER_BYTES:
            raise ArgoHttpError(f"the answer is over {MAX_ANSWER_BYTES} bytes")
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserError as error:
            raise ArgoHttpError(f"not an HTTP answer: {error}") from None
    status = answer.parser.get_status_code()
    return Answer(status, bytes(answer.body)), answer.keep_alive


class ArgoHttp:
    def __init__(self, base_url: str, verify_ssl: bool, timeout_seconds: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Argo server URL must be http(s)://host[:port], not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.ssl = ssl.create_default_context()
            if not verify_ssl:
                self.ssl.check_hostname = False
                self.ssl.verify_mode = ssl.CERT_NONE
        self._idle: list[_Connection] = []

    def _pooled(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        return None

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl)
        return _Connection(reader, writer)

    def _release(self, connection: _Connection) -> None:
        if len(self._idle) >= MAX_IDLE_CONNECTIONS:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    async def post_json(self, path: str, body: bytes, authorization: str | None = None) -> Answer:
        """`authorization`: the Authorization header's value, if any."""
        credentials = f"Authorization: {authorization}\r\n" if authorization else ""
        request = (
            f"POST {self.prefix}{path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"{credentials}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._send(request)
        except TimeoutError:
            raise ArgoHttpError(f"no answer within {self.timeout_seconds} s") from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            raise ArgoHttpError(f"{type(error).__name__}: {error}") from None

    async def _send(self, request: bytes) -> Answer:
        connection = self._pooled() or await self._open()
        try:
            answer, keep = await _exchange(connection, request)
        except BaseException:
            connection.close()
            raise
        if keep:
            self._release(connection)
        else:
            connection.close()
        return answer

    async def close(self) -> None:
        while self._idle:
            connection = self._idle.pop()
            connection.close()
