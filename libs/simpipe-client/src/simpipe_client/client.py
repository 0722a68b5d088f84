"""AsyncSimpipe: the async client. Every operation in operations/ is a typed
method of the generated base (`await client.projects()`,
`client.dry_run_updates(id)`); this class adds what generation cannot:
typed errors, subscriptions that survive the gateway restarting, file
transfers and waiting for a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import httpx

from simpipe_client import subscriptions, transfers
from simpipe_client.errors import unreachable
from simpipe_client.generated.async_base_client import HttpClient
from simpipe_client.generated.client import GeneratedAsyncClient
from simpipe_client.generated.dry_run import DryRunDryRun
from simpipe_client.generated.dry_run_report import DryRunReportDryRun
from simpipe_client.generated.fragments import ArtifactFields, UpdateFields
from simpipe_client.responses import (
    DEFAULT_RECONNECT_SECONDS,
    DEFAULT_TIMEOUT,
    Answer,
    data_of_response,
    terminal,
)


class AsyncSimpipe(GeneratedAsyncClient):
    """A user's session with the gateway at `url` (its /graphql endpoint).

    `token` is an API token (`simpipe login`, or the GUI's Tokens page);
    without one only public queries answer. A subscription whose connection
    drops connects again for up to `reconnect_seconds`.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        reconnect_seconds: float = DEFAULT_RECONNECT_SECONDS,
    ) -> None:
        self.token = token
        self.reconnect_seconds = reconnect_seconds
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(
            url=url,
            headers=headers,
            http_client=cast("HttpClient", httpx.AsyncClient(headers=headers, timeout=timeout)),
            ws_url=subscriptions.ws_url(url),
        )

    async def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Answer:
        try:
            response: Answer = await super().execute(query, operation_name, variables, **kwargs)
        except httpx.TransportError as error:
            raise unreachable(self.url, error) from error
        return response

    def get_data(self, response: Answer) -> dict[str, Any]:
        return data_of_response(response, self.url)

    async def execute_ws(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        async for data in subscriptions.subscribe(
            self.ws_url,
            self.token,
            query,
            operation_name,
            variables,
            kwargs.get("reconnect_seconds", self.reconnect_seconds),
        ):
            yield data

    async def graphql(self, document: str, **variables: Any) -> dict[str, Any]:
        """Any query or mutation, for fields the typed methods do not select:
        the response's data (typed errors as for every method)."""
        return self.get_data(await self.execute(document, variables=variables))

    async def subscribe(self, document: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        """Any subscription's data, each `next` payload until it completes."""
        async for data in self.execute_ws(document, variables=variables):
            yield data

    async def follow_dry_run(
        self, dry_run_id: str, on_update: Callable[[UpdateFields], None] | None = None
    ) -> DryRunDryRun:
        """Waits, on the run's subscription, until the run has ended; `on_update`
        sees each update (the run's and its steps' phases). The run as it ended."""
        async for update in self.dry_run_updates(dry_run_id):
            if on_update is not None:
                on_update(update.dry_run_updates)
            if update.dry_run_updates.kind == "run" and terminal(update.dry_run_updates.phase):
                break
        return (await self.dry_run(dry_run_id)).dry_run

    async def wait_for_report(
        self, dry_run_id: str, seconds: float = 30.0, interval: float = 0.5
    ) -> DryRunReportDryRun:
        """The ended run's report and measurements, once the metrics-collector
        has written them (it does when the run's last scrape is in); after
        `seconds` without one, what there is (`report` None)."""
        deadline = time.monotonic() + seconds
        while True:
            found = (await self.dry_run_report(dry_run_id)).dry_run
            if found.report is not None or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(interval)

    async def upload_file(
        self,
        path: Path,
        key: str | None = None,
        bucket: str | None = None,
        *,
        progress: transfers.Progress | None = None,
        part_size: int = transfers.DEFAULT_PART_SIZE,
        concurrency: int = transfers.DEFAULT_CONCURRENCY,
    ) -> ArtifactFields:
        """Uploads `path` as `key` (default: its name) into `bucket` (default:
        the caller's uploads); `progress` gets the bytes of each part landed."""
        return await transfers.upload(
            self, path, key or path.name, bucket, progress, part_size, concurrency
        )

    async def download_file(
        self,
        key: str,
        dest: Path,
        bucket: str | None = None,
        *,
        progress: transfers.Progress | None = None,
    ) -> int:
        """Downloads the caller's file `key` of `bucket` to `dest`; its size."""
        found = (await self.artifacts(bucket_name=bucket, prefix=key)).artifacts
        url = transfers.url_of(found, key, bucket)
        return await transfers.download(url, dest, progress)

    async def download_url(
        self, url: str, dest: Path, *, progress: transfers.Progress | None = None
    ) -> int:
        """Downloads a presigned URL the API answered (a report's, an artifact's)."""
        return await transfers.download(url, dest, progress)

    async def aclose(self) -> None:
        await self.http_client.aclose()
