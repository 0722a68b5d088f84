"""A small keep-alive HTTP/1.1 client on asyncio, for the Argo server's JSON
API on the createDryRun path.

hera's WorkflowsService is synchronous (requests, run in a worker thread). On
a create that cost ~2.5 ms of our ~4 ms in the submitter on the 2-core dev
machine: requests' per-call machinery, two thread hops, and pydantic writing
the request and reading the whole stored Workflow back, of which only the
name and uid are used. httpx took as long; aiohttp was fast but adds ~28 MiB
to a service that must idle under 100 MB. This client writes one request in
one segment and reads one response (Content-Length, chunked, or to EOF) on a
pooled connection, nothing more.

It sends no request twice, with one exception: a pooled connection that gives
no byte of an answer was closed by the server while idle (the request never
reached it), so that one request goes again on a new connection.
"""

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Idle connections older than this are closed, not reused: most servers drop
# theirs after 60-120 s, and a reused connection the server is closing loses
# the race.
IDLE_SECONDS = 30.0
MAX_IDLE_CONNECTIONS = 4
MAX_HEADER_LINES = 100
# Argo's objects are capped by etcd at ~1.5 MB; a created Workflow comes back
# as about its own size.
MAX_BODY_BYTES = 16 * 1024 * 1024


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


class _NoAnswerError(Exception):
    """The connection ended, or was reset, before the first byte of an answer."""


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> tuple[bytes, bool]:
    """The body, and whether the connection is at its end (read to EOF)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readline()
            length = int(line.split(b";", 1)[0].strip(), 16)
            if length == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: none that matter here
                return b"".join(chunks), False
            size += length
            if size > MAX_BODY_BYTES:
                raise ArgoHttpError(f"the answer is over {MAX_BODY_BYTES} bytes")
            chunks.append(await reader.readexactly(length))
            await reader.readexactly(2)  # the chunk's CRLF
    if "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_BODY_BYTES:
            raise ArgoHttpError(f"the answer has a Content-Length of {length}")
        return await reader.readexactly(length), False
    body = await reader.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise ArgoHttpError(f"the answer is over {MAX_BODY_BYTES} bytes")
    return body, True


async def _exchange(connection: _Connection, request: bytes) -> tuple[Answer, bool]:
    """One request and its answer; whether the connection can be kept."""
    reader = connection.reader
    try:
        connection.writer.write(request)
        await connection.writer.drain()
        status_line = await reader.readline()
    except (ConnectionResetError, BrokenPipeError):
        raise _NoAnswerError from None
    if not status_line:
        raise _NoAnswerError
    version, _, rest = status_line.partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ArgoHttpError(f"not an HTTP answer: {status_line[:80]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ArgoHttpError("the connection ended inside the headers")
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ArgoHttpError(f"more than {MAX_HEADER_LINES} header lines")
    no_body = status in (204, 304) or 100 <= status < 200
    body, at_eof = (b"", False) if no_body else await _read_body(reader, headers)
    closing = headers.get("connection", "").lower() == "close" or version == b"HTTP/1.0"
    return Answer(status, body), not (at_eof or closing)


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

    async def post_json(self, path: str, body: bytes) -> Answer:
        request = (
            f"POST {self.prefix}{path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._send(request)
        except TimeoutError:
            raise ArgoHttpError(f"no answer within {self.timeout_seconds} s") from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            raise ArgoHttpError(f"{type(error).__name__}: {error}") from None

    async def _send(self, request: bytes) -> Answer:
        pooled = self._pooled()
        connection = pooled or await self._open()
        try:
            try:
                answer, keep = await _exchange(connection, request)
            except _NoAnswerError:
                if pooled is None:
                    raise
                # Closed by the server while idle: the request never reached it.
                connection.close()
                connection = await self._open()
                answer, keep = await _exchange(connection, request)
        except _NoAnswerError:
            connection.close()
            raise ArgoHttpError("the server closed the connection without answering") from None
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
