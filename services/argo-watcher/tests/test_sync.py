"""The loop from watch to read model to JetStream, with a stand-in publisher."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from simpipe_argo_watcher.changes import PhaseEvent
from simpipe_argo_watcher.publisher import Publisher
from simpipe_argo_watcher.read_model import ReadModel, Snapshot
from simpipe_argo_watcher.sync import Item, ModelSync
from simpipe_argo_watcher.watch import Listed, Watched
from simpipe_common.testing import RecordedStream
from simpipe_events import contract


class FakePublisher(Publisher):
    def __init__(self) -> None:
        stream = RecordedStream()
        super().__init__(stream, lambda: stream)
        self.published: list[str] = []
        self.caught_up: list[str] = []
        self.failing = False

    async def publish(self, events: Sequence[PhaseEvent]) -> None:
        if self.failing:
            raise ConnectionError("nats is away")
        self.published += [contract.event_id(event) for event in events]

    async def publish_if_unpublished(self, snapshot: Snapshot) -> bool:
        if self.failing:
            raise ConnectionError("nats is away")
        self.caught_up.append(snapshot.resource_version)
        return True


class Loop:
    def __init__(self) -> None:
        self.model = ReadModel()
        self.publisher = FakePublisher()
        self.items: asyncio.Queue[Item] = asyncio.Queue()
        self.sync = ModelSync(self.model, self.publisher, self.items, first_retry_seconds=0.01)

    async def feed(self, *items: Item) -> None:
        for item in items:
            self.items.put_nowait(item)
        for _ in range(100):  # until the loop took everything
            if self.items.empty():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)


@pytest.fixture
async def loop() -> AsyncIterator[Loop]:
    loop = Loop()
    task = asyncio.create_task(loop.sync.run())
    yield loop
    task.cancel()


def ids(events: list[str]) -> list[str]:
    return [event.split(":", 1)[1] for event in events]


async def test_a_follower_keeps_the_model_but_publishes_nothing(
    loop: Loop, pending: dict[str, Any], running: dict[str, Any]
) -> None:
    await loop.feed(Listed([pending], "simpipe"), Watched("MODIFIED", running))
    assert loop.model.get("capture-vkfvt") is not None
    assert loop.publisher.published == loop.publisher.caught_up == []


async def test_a_leader_catches_up_first_then_publishes_changes(
    loop: Loop, pending: dict[str, Any], running: dict[str, Any], failed: dict[str, Any]
) -> None:
    loop.sync.set_leader(True)
    await loop.feed(Listed([pending], "simpipe"))
    # The first list is compared with what JetStream holds, not published blindly.
    assert (loop.publisher.caught_up, loop.publisher.published) == (["1409"], [])
    await loop.feed(Watched("MODIFIED", running), Watched("MODIFIED", failed))
    assert ids(loop.publisher.published)[-1] == "1443"
    assert "capture-vkfvt-2349931391:Failed" in ids(loop.publisher.published)


async def test_after_a_failed_publish_the_current_state_follows(
    loop: Loop, pending: dict[str, Any], running: dict[str, Any], failed: dict[str, Any]
) -> None:
    loop.sync.set_leader(True)
    await loop.feed(Listed([pending], "simpipe"))
    loop.publisher.failing = True
    await loop.feed(Watched("MODIFIED", running))
    loop.publisher.failing = False
    await loop.feed(Watched("MODIFIED", failed))
    # Nothing is diffed while behind: the retry publishes the state as it is then.
    assert loop.publisher.published == []
    # The retry is scheduled (0.01 s after the failure here): wait for it, not a fixed time.
    for _ in range(500):
        if len(loop.publisher.caught_up) > 1:
            break
        await asyncio.sleep(0.01)
    assert loop.publisher.caught_up == ["1409", "1443"]


async def test_losing_leadership_stops_publishing(
    loop: Loop, pending: dict[str, Any], running: dict[str, Any]
) -> None:
    loop.sync.set_leader(True)
    await loop.feed(Listed([pending], "simpipe"))
    loop.sync.set_leader(False)
    await loop.feed(Watched("MODIFIED", running), Watched("DELETED", running))
    assert loop.publisher.published == []
    assert loop.model.get("capture-vkfvt") is None
