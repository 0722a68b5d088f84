"""Prometheus's HTTP API, as the collector uses it: range queries whose
result is one series per pod.

httpx rather than prometheus-api-client: the collector is asyncio, and
prometheus-api-client is built on blocking `requests`, so each query would
hold a thread; httpx's async client keeps one pooled keep-alive connection
set and runs a run's queries side by side (bounded by `concurrency`). The
benchmark measures the result against prometheus-api-client's query_range.

A run's answer is megabytes of JSON with tens of thousands of samples, and
decoding it was most of the collector's time: msgspec decodes it straight
into typed structs (validated: a malformed answer is an error, not a
KeyError later), and each series' samples become two columns (timestamps,
values as Prometheus wrote them) in one C-level pass, not an object per
sample.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import msgspec

from simpipe_common.errors import ServiceError, UnavailableError

# Prometheus's own limit of points per series in one range query.
MAX_POINTS = 11_000
HTTP_BAD_REQUEST = 400


@dataclass(frozen=True, slots=True)
class Samples:
    """A series' samples as columns: unix seconds (ascending) and each value
    as the string Prometheus wrote ("NaN", "+Inf" and integers above 2^53
    survive)."""

    timestamps: Sequence[float]
    values: Sequence[str]

    def __len__(self) -> int:
        return len(self.timestamps)


NO_SAMPLES = Samples((), ())


@dataclass(frozen=True, slots=True)
class Series:
    labels: dict[str, str]
    samples: Samples


class _Matrix(msgspec.Struct):
    metric: dict[str, str]
    values: list[tuple[float, str]] = []


class _Data(msgspec.Struct):
    result: list[_Matrix]


class _Answer(msgspec.Struct):
    status: str
    data: _Data | None = None
    error: str = ""


_ANSWER = msgspec.json.Decoder(_Answer)


def columns(values: list[tuple[float, str]]) -> Samples:
    """[(t, v), ...] as (t, ...), (v, ...)."""
    if not values:
        return NO_SAMPLES
    timestamps, texts = zip(*values, strict=True)
    return Samples(timestamps, texts)


def decode(body: bytes) -> _Answer:
    try:
        return _ANSWER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise UnavailableError(
            f"Prometheus answered something else than a query result: {error}"
        ) from error


def _error_text(response: httpx.Response) -> str:
    """Prometheus's reason for an error status, or the body's start."""
    try:
        return decode(response.content).error or response.text[:200]
    except UnavailableError:
        return response.text[:200]


class Prometheus:
    def __init__(self, url: str, timeout: float, concurrency: int) -> None:
        self._url = url.rstrip("/")
        # Uncompressed: Prometheus sits next to the collector, and gzipping
        # megabytes cost both of them more CPU than the bytes cost the link.
        self._http = httpx.AsyncClient(
            base_url=self._url, timeout=timeout, headers={"Accept-Encoding": "identity"}
        )
        self._slots = asyncio.Semaphore(concurrency)

    async def query_range(self, query: str, start: float, end: float, step: float) -> list[Series]:
        """Each series the query returns: its labels and samples."""
        # POST: a run's pod alternation can outgrow a URL.
        form = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        try:
            async with self._slots:
                response = await self._http.post("/api/v1/query_range", data=form)
        except httpx.HTTPError as error:
            raise UnavailableError(
                f"Prometheus at {self._url} does not answer: {type(error).__name__}: {error}"
            ) from error
        if response.status_code >= HTTP_BAD_REQUEST:
            reason = _error_text(response)
            if response.status_code == HTTP_BAD_REQUEST:
                # The queries are ours: a refused one is a bug here, not bad input.
                raise ServiceError(f"Prometheus refused a query: {reason}")
            raise UnavailableError(
                f"Prometheus at {self._url} answered HTTP {response.status_code}: {reason}"
            )
        answer = decode(response.content)
        if answer.status != "success" or answer.data is None:
            raise UnavailableError(f"Prometheus at {self._url} failed a query: {answer.error}")
        return [Series(found.metric, columns(found.values)) for found in answer.data.result]

    async def close(self) -> None:
        await self._http.aclose()
