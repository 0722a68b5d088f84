"""Simpipe: AsyncSimpipe's blocking twin, for scripts and notebooks. The same
typed methods (generated from the same operations, minus subscriptions,
which ariadne-codegen makes only async), the same errors; runs are followed
on a blocking websocket."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx

from simpipe_client import subscriptions, transfers
from simpipe_client.errors import unreachable
from simpipe_client.generated_sync.base_client import HttpClient
from simpipe_client.generated_sync.client import GeneratedSyncClient
from simpipe_client.generated_sync.dry_run import DryRunDryRun
from simpipe_client.generated_sync.dry_run_report import DryRunReportDryRun
from simpipe_client.generated_sync.fragments import ArtifactFields, UpdateFields
from simpipe_client.responses import (
    DEFAULT_RECONNECT_SECONDS,
    DEFAULT_TIMEOUT,
    Answer,
    data_of_response,
    terminal,
)

# The one subscription the sync client speaks, as the async client's
# generated method sends it.
_DRY_RUN_UPDATES = """subscription DryRunUpdates($dryRunId: String!) {
  dryRunUpdates(dryRunId: $dryRunId) {
    dryRunId projectId kind phase progress message nodeId displayName exitCode occurredAt
  }
}"""


class Simpipe(GeneratedSyncClient):
    """A user's blocking session with the gateway at `url`; see AsyncSimpipe."""

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
            http_client=cast("HttpClient", httpx.Client(headers=headers, timeout=timeout)),
        )

    def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Answer:
        try:
            response: Answer = super().execute(query, operation_name, variables, **kwargs)
        except httpx.TransportError as error:
            raise unreachable(self.url, error) from error
        return response

    def get_data(self, response: Answer) -> dict[str, Any]:
        return data_of_response(response, self.url)

    def graphql(self, document: str, **variables: Any) -> dict[str, Any]:
        """Any query or mutation: the response's data."""
        return self.get_data(self.execute(document, variables=variables))

    def subscribe(self, document: str, **variables: Any) -> Iterator[dict[str, Any]]:
        """Any subscription's data, each `next` payload until it completes."""
        yield from subscriptions.subscribe_sync(
            subscriptions.ws_url(self.url),
            self.token,
            document,
            None,
            variables,
            self.reconnect_seconds,
        )

    def run_updates(self, dry_run_id: str) -> Iterator[UpdateFields]:
        """The run's updates (its phases and its steps'), from its start until
        it ends: AsyncSimpipe.dry_run_updates' items, unwrapped."""
        for data in self.subscribe(_DRY_RUN_UPDATES, dryRunId=dry_run_id):
            yield UpdateFields.model_validate(data["dryRunUpdates"])

    def follow_dry_run(
        self, dry_run_id: str, on_update: Callable[[UpdateFields], None] | None = None
    ) -> DryRunDryRun:
        """Blocks until the run has ended; see AsyncSimpipe.follow_dry_run."""
        for update in self.run_updates(dry_run_id):
            if on_update is not None:
                on_update(update)
            if update.kind == "run" and terminal(update.phase):
                break
        return self.dry_run(dry_run_id).dry_run

    def wait_for_report(
        self, dry_run_id: str, seconds: float = 30.0, interval: float = 0.5
    ) -> DryRunReportDryRun:
        """The ended run's report and measurements, once the metrics-collector
        has written them (it does when the run's last scrape is in); after
        `seconds` without one, what there is (`report` None)."""
        deadline = time.monotonic() + seconds
        while True:
            found = (self.dry_run_report(dry_run_id)).dry_run
            if found.report is not None or time.monotonic() >= deadline:
                return found
            time.sleep(interval)

    def upload_file(
        self,
        path: Path,
        key: str | None = None,
        bucket: str | None = None,
        *,
        progress: transfers.Progress | None = None,
        part_size: int = transfers.DEFAULT_PART_SIZE,
        concurrency: int = transfers.DEFAULT_CONCURRENCY,
    ) -> ArtifactFields:
        """Uploads `path`; see AsyncSimpipe.upload_file."""
        return transfers.upload_sync(
            self, path, key or path.name, bucket, progress, part_size, concurrency
        )

    def download_file(
        self,
        key: str,
        dest: Path,
        bucket: str | None = None,
        *,
        progress: transfers.Progress | None = None,
    ) -> int:
        """Downloads the caller's file `key` to `dest`; its size."""
        found = self.artifacts(bucket_name=bucket, prefix=key).artifacts
        url = transfers.url_of(found, key, bucket)
        return transfers.download_sync(url, dest, progress)

    def download_url(
        self, url: str, dest: Path, *, progress: transfers.Progress | None = None
    ) -> int:
        """Downloads a presigned URL the API answered."""
        return transfers.download_sync(url, dest, progress)
