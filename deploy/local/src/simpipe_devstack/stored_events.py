"""Every event the stream holds on one subject, read with an ordered
consumer from the first: for tests that count what was published (nothing
lost, nothing doubled)."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf.message import Message
from nats.js.api import DeliverPolicy

from simpipe_events import contract
from simpipe_events.stream import STREAM

# Reading what is stored takes well under this; longer means a stuck consumer.
READ_SECONDS = 30.0


async def stored_events(js: Any, subject: str) -> list[Message]:
    """The events on `subject` (wildcards allowed), oldest first."""
    info = await js.stream_info(STREAM, subjects_filter=subject)
    stored = sum((info.state.subjects or {}).values())
    if not stored:
        return []
    events: list[Message] = []
    done = asyncio.Event()

    async def take(msg: Any) -> None:
        events.append(contract.decode(msg.subject, msg.data))
        if msg.metadata.num_pending == 0:
            done.set()

    reader = await js.subscribe(
        subject, stream=STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL, cb=take
    )
    try:
        await asyncio.wait_for(done.wait(), READ_SECONDS)
    finally:
        await reader.unsubscribe()
    return events
