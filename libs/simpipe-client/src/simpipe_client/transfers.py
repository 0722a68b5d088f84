"""Files to and from SIM-PIPE's storage through presigned URLs: the bytes go
straight to S3, never through the gateway, which only signs.

Every upload is a multipart upload (one part for a small file), so one path
serves a byte and a terabyte: parts go up `concurrency` at a time, a failed
upload is aborted (its parts deleted), and `progress` is called with each
part's size as it lands. Downloads stream to a file, `progress` called per
chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from simpipe_client.errors import SimpipeError, TransferError, not_found

if TYPE_CHECKING:
    from simpipe_client.client import AsyncSimpipe
    from simpipe_client.generated.fragments import ArtifactFields
    from simpipe_client.generated_sync import fragments as sync_fragments
    from simpipe_client.sync_client import Simpipe

MIB = 1024 * 1024
# S3's floor for every part but the last; big enough that a GiB is 64 parts.
DEFAULT_PART_SIZE = 16 * MIB
MIN_PART_SIZE = 5 * MIB
DEFAULT_CONCURRENCY = 8
# S3 joins at most this many parts into one file.
MAX_PARTS = 10_000
# uploadPartUrls answers at most this many URLs at once.
URLS_PER_CALL = 1000
CHUNK = 1 * MIB
TRANSFER_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

Progress = Callable[[int], None]


class Listed(Protocol):
    """A file as `artifacts` lists it (the async or the sync client's model)."""

    key: str
    url: str | None


@dataclass(frozen=True)
class Part:
    number: int
    offset: int
    length: int


def parts_of(size: int, part_size: int) -> list[Part]:
    """The parts of a file of `size` bytes (one empty part for an empty file)."""
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"parts are at least {MIN_PART_SIZE} bytes, not {part_size}")
    if size == 0:
        return [Part(1, 0, 0)]
    # A file too large for that many parts of `part_size` gets larger parts.
    part_size = max(part_size, -(-size // MAX_PARTS))
    return [
        Part(number, offset, min(part_size, size - offset))
        for number, offset in enumerate(range(0, size, part_size), start=1)
    ]


def url_of(found: Sequence[Listed], key: str, bucket: str | None) -> str:
    """The download URL of the file `key` among a listing of the caller's files."""
    url = next((a.url for a in found if a.key == key), None)
    if url is None:
        raise not_found(f"no file {key!r}" + (f" in bucket {bucket!r}" if bucket else ""))
    return url


def read_part(path: Path, part: Part) -> bytes:
    with path.open("rb") as file:
        file.seek(part.offset)
        return file.read(part.length)


def _etag(response: httpx.Response, what: str) -> str:
    if response.status_code != 200:
        raise TransferError(f"{what}: S3 answered {response.status_code}: {response.text[:200]}")
    etag = response.headers.get("etag")
    if not etag:
        raise TransferError(f"{what}: S3 answered no ETag")
    return str(etag)


def _batches(parts: list[Part]) -> Iterator[list[Part]]:
    for start in range(0, len(parts), URLS_PER_CALL):
        yield parts[start : start + URLS_PER_CALL]


def _readable(path: Path) -> int:
    if not path.is_file():
        raise TransferError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise TransferError(f"{path}: not readable")
    return path.stat().st_size


async def upload(
    client: AsyncSimpipe,
    path: Path,
    key: str,
    bucket: str | None,
    progress: Progress | None,
    part_size: int,
    concurrency: int,
) -> ArtifactFields:
    # Here, not at the top: the sync client need not load the async one's models.
    from simpipe_client.generated import input_types

    size = _readable(path)
    parts = parts_of(size, part_size)
    started = (
        await client.create_multipart_upload(key, bucket_name=bucket)
    ).create_multipart_upload
    bucket_name, upload_id = started.bucket_name, started.upload_id
    limit = asyncio.Semaphore(concurrency)
    try:
        async with httpx.AsyncClient(timeout=TRANSFER_TIMEOUT) as s3:
            etags: dict[int, str] = {}

            async def put(part: Part, url: str) -> None:
                async with limit:
                    body = await asyncio.to_thread(read_part, path, part)
                    response = await s3.put(url, content=body)
                    etags[part.number] = _etag(response, f"{path} part {part.number}")
                    if progress is not None:
                        progress(part.length)

            for batch in _batches(parts):
                urls = await client.upload_part_urls(
                    bucket_name, started.key, upload_id, [p.number for p in batch]
                )
                by_number = {u.part_number: u.url for u in urls.upload_part_urls}
                async with asyncio.TaskGroup() as group:
                    for part in batch:
                        group.create_task(put(part, by_number[part.number]))
        completed = await client.complete_multipart_upload(
            bucket_name,
            started.key,
            upload_id,
            [
                input_types.CompletedPartInput(part_number=n, etag=e)
                for n, e in sorted(etags.items())
            ],
        )
    except BaseException as error:
        await _abort(client, bucket_name, started.key, upload_id)
        if isinstance(error, BaseExceptionGroup):
            raise _first(error) from None
        if isinstance(error, httpx.TransportError):
            raise TransferError(f"{path}: {error}") from error
        raise
    return completed.complete_multipart_upload


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error of a part's, as a TransferError when it was the network's."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    if isinstance(error, httpx.TransportError):
        return TransferError(str(error) or type(error).__name__)
    return error


async def _abort(client: AsyncSimpipe, bucket: str, key: str, upload_id: str) -> None:
    # Best effort: the upload already failed, and that error is the one to report.
    with contextlib.suppress(SimpipeError, httpx.HTTPError):
        await asyncio.shield(client.abort_multipart_upload(bucket, key, upload_id))


async def download(url: str, dest: Path, progress: Progress | None) -> int:
    """Streams `url` to `dest` (written whole or not at all); its size."""
    partial = dest.with_name(f".{dest.name}.part")
    written = 0
    try:
        async with (
            httpx.AsyncClient(timeout=TRANSFER_TIMEOUT) as s3,
            s3.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise TransferError(f"{dest.name}: S3 answered {response.status_code}")
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes(CHUNK):
                    file.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
        partial.replace(dest)
    except httpx.TransportError as error:
        raise TransferError(f"{dest.name}: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return written


def upload_sync(
    client: Simpipe,
    path: Path,
    key: str,
    bucket: str | None,
    progress: Progress | None,
    part_size: int,
    concurrency: int,
) -> sync_fragments.ArtifactFields:
    from simpipe_client.generated_sync import input_types as sync_input_types

    size = _readable(path)
    parts = parts_of(size, part_size)
    started = client.create_multipart_upload(key, bucket_name=bucket).create_multipart_upload
    bucket_name, upload_id = started.bucket_name, started.upload_id
    etags: dict[int, str] = {}
    lock = threading.Lock()
    try:
        with httpx.Client(timeout=TRANSFER_TIMEOUT) as s3:

            def put(part: Part, url: str) -> None:
                response = s3.put(url, content=read_part(path, part))
                etag = _etag(response, f"{path} part {part.number}")
                with lock:
                    etags[part.number] = etag
                    if progress is not None:
                        progress(part.length)

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for batch in _batches(parts):
                    urls = client.upload_part_urls(
                        bucket_name, started.key, upload_id, [p.number for p in batch]
                    )
                    by_number = {u.part_number: u.url for u in urls.upload_part_urls}
                    for future in [pool.submit(put, p, by_number[p.number]) for p in batch]:
                        future.result()
        return client.complete_multipart_upload(
            bucket_name,
            started.key,
            upload_id,
            [
                sync_input_types.CompletedPartInput(part_number=n, etag=e)
                for n, e in sorted(etags.items())
            ],
        ).complete_multipart_upload
    except BaseException as error:
        # Best effort, as in upload().
        with contextlib.suppress(SimpipeError, httpx.HTTPError):
            client.abort_multipart_upload(bucket_name, started.key, upload_id)
        if isinstance(error, httpx.TransportError):
            raise TransferError(f"{path}: {error}") from error
        raise


def download_sync(url: str, dest: Path, progress: Progress | None) -> int:
    partial = dest.with_name(f".{dest.name}.part")
    written = 0
    try:
        with httpx.Client(timeout=TRANSFER_TIMEOUT) as s3, s3.stream("GET", url) as response:
            if response.status_code != 200:
                raise TransferError(f"{dest.name}: S3 answered {response.status_code}")
            with partial.open("wb") as file:
                for chunk in response.iter_bytes(CHUNK):
                    file.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
        partial.replace(dest)
    except httpx.TransportError as error:
        raise TransferError(f"{dest.name}: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return written
