"""LazyJetStream opens one connection however many first users come at once,
and tells how often that connection came back (a fake connection: NATS
itself is exercised by the integration tests)."""

import asyncio
from typing import Any

import nats
import pytest

from simpipe_common import events


class FakeConnection:
    def __init__(self) -> None:
        self.stats = {"reconnects": 0}

    def jetstream(self) -> str:
        return f"jetstream of {id(self)}"


async def test_concurrent_first_users_share_one_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[FakeConnection] = []

    async def connect(*_: Any, **__: Any) -> FakeConnection:
        await asyncio.sleep(0.01)  # the others arrive while this one connects
        opened.append(FakeConnection())
        return opened[-1]

    async def ensure_stream(_: Any) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(nats, "connect", connect)
    monkeypatch.setattr(events, "ensure_stream", ensure_stream)
    lazy = events.LazyJetStream("nats://127.0.0.1:9")
    contexts = await asyncio.gather(*(lazy.get() for _ in range(5)))
    assert len(opened) == 1
    assert {str(context) for context in contexts} == {opened[0].jetstream()}
    assert id(await lazy.connection()) == id(opened[0])


async def test_interruptions_are_the_connections_reconnects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = FakeConnection()

    async def connect(*_: Any, **__: Any) -> FakeConnection:
        return connection

    async def ensure_stream(_: Any) -> None:
        return None

    monkeypatch.setattr(nats, "connect", connect)
    monkeypatch.setattr(events, "ensure_stream", ensure_stream)
    lazy = events.LazyJetStream("nats://127.0.0.1:9")
    assert lazy.interruptions == 0  # not connected yet
    await lazy.get()
    connection.stats["reconnects"] = 2
    assert lazy.interruptions == 2
