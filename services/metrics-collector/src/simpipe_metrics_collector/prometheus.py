"""Prometheus's HTTP API, as the collector uses it: range queries whose
result is one series per pod.

httpx rather than prometheus-api-client: the collector is asyncio, and
prometheus-api-client is built on blocking `requests`, so each query would
hold a thread; httpx's async client keeps one pooled keep-alive connection
set and runs a run's queries side by side (bounded by `concurrency`). The
benchmark measures the result against prometheus-api-client's query_range.
"""

import asyncio
from typing import Any

import httpx

from simpipe_common.errors import ServiceError, UnavailableError

# Prometheus's own limit of points per series in one range query.
MAX_POINTS = 11_000
HTTP_BAD_REQUEST = 400

# (unix seconds, the value as Prometheus wrote it)
RawSample = tuple[float, str]


class Prometheus:
    def __init__(self, url: str, timeout: float, concurrency: int) -> None:
        self._url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self._url, timeout=timeout)
        self._slots = asyncio.Semaphore(concurrency)

    async def query_range(
        self, query: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[RawSample]]]:
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
        body: dict[str, Any] = response.json() if response.content else {}
        if response.status_code == HTTP_BAD_REQUEST:
            # The queries are ours: a refused one is a bug here, not bad input.
            raise ServiceError(f"Prometheus refused a query: {body.get('error', '')}")
        if response.status_code >= HTTP_BAD_REQUEST or body.get("status") != "success":
            raise UnavailableError(
                f"Prometheus at {self._url} answered HTTP {response.status_code}: "
                f"{body.get('error', response.text[:200])}"
            )
        return [
            (series["metric"], [(float(t), str(v)) for t, v in series["values"]])
            for series in body["data"]["result"]
        ]

    async def close(self) -> None:
        await self._http.aclose()
