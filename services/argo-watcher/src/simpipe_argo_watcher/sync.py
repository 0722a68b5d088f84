"""Keeps the read model current from the watch and, on the leader, publishes
what changed.

One task does both, in the order the watch saw things, so events leave in
order. When the published state is unknown (at start, on gaining leadership,
after a failed publish) the leader publishes each run's current state unless
JetStream already holds it, instead of diffing: that is how a terminal phase
reached while no watcher published still goes out once.
"""

import asyncio
import time

import structlog

from simpipe_argo_watcher.changes import change_events
from simpipe_argo_watcher.metrics import PUBLISH_FAILURES
from simpipe_argo_watcher.publisher import Publisher
from simpipe_argo_watcher.read_model import Change, ReadModel
from simpipe_argo_watcher.watch import Listed, Watched, WatchItem

log = structlog.get_logger(__name__)

MAX_RETRY_SECONDS = 30.0


class CatchUp:
    """A queue item that only wakes the loop to publish what is unpublished."""


Item = WatchItem | CatchUp


class ModelSync:
    def __init__(
        self,
        model: ReadModel,
        publisher: Publisher,
        items: asyncio.Queue[Item],
        first_retry_seconds: float = 1.0,
    ) -> None:
        self._model = model
        self._publisher = publisher
        self._items = items
        self._publishing = False
        self._behind = True
        self._retry_at = 0.0
        self._first_retry = first_retry_seconds
        self._retry_delay = first_retry_seconds

    def set_leader(self, leader: bool) -> None:
        """Only the leader publishes; a new one first catches up on what its
        predecessor may not have published."""
        self._publishing = leader
        if leader:
            self._behind, self._retry_at = True, 0.0
            self._items.put_nowait(CatchUp())

    async def run(self) -> None:
        while True:
            item = await self._items.get()
            changes = self._apply(item)
            if not self._publishing or not self._model.synced.is_set():
                continue
            if self._behind:
                if time.monotonic() >= self._retry_at:
                    await self._catch_up()
                continue
            events = [event for change in changes for event in change_events(change)]
            if events:
                try:
                    await self._publisher.publish(events)
                except Exception as error:
                    self._failed(error)

    def _apply(self, item: Item) -> list[Change]:
        match item:
            case Listed(workflows, namespace):
                return self._model.replace_all(workflows, namespace)
            case Watched("DELETED", workflow):
                metadata = workflow["metadata"]
                change = self._model.delete(
                    str(metadata["name"]), str(metadata.get("namespace", ""))
                )
            case Watched(_, workflow):
                change = self._model.upsert(workflow)
            case _:
                return []
        return [change] if change else []

    async def _catch_up(self) -> None:
        published = 0
        try:
            for snapshot in self._model.snapshots():
                published += await self._publisher.publish_if_unpublished(snapshot)
        except Exception as error:
            self._failed(error)
            return
        self._behind, self._retry_delay = False, self._first_retry
        log.info(
            "published the current state", runs=len(self._model.snapshots()), published=published
        )

    def _failed(self, error: Exception) -> None:
        PUBLISH_FAILURES.inc()
        log.warning(
            "publishing failed; the current state follows later",
            error=f"{type(error).__name__}: {error}",
            retry_seconds=self._retry_delay,
        )
        self._behind = True
        self._retry_at = time.monotonic() + self._retry_delay
        asyncio.get_running_loop().call_later(self._retry_delay, self._items.put_nowait, CatchUp())
        self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_SECONDS)
