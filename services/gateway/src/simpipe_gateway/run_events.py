"""Dry-run events from JetStream for GraphQL subscriptions.

Each subscription gets its own ephemeral ordered consumer (every gateway
replica sees every event: fan-out, not work sharing). A dry run's
subscription replays that run's events from the stream before going live,
so a subscriber that joins late still sees every phase change in order.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from simpipe.v1 import events_pb2
from simpipe_common import events

TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})


@dataclass(frozen=True)
class RunEvent:
    subject: str
    run: events_pb2.DryRunPhaseChanged | None = None
    step: events_pb2.StepPhaseChanged | None = None

    @property
    def event_id(self) -> str:
        payload = self.run or self.step
        assert payload is not None
        return payload.meta.event_id

    @property
    def ends_run(self) -> bool:
        return self.run is not None and self.run.phase in TERMINAL_PHASES


def decode(msg: Msg) -> RunEvent | None:
    """A run or step phase event; anything else on the subjects is skipped."""
    parts = msg.subject.split(".")
    try:
        if parts[1] == "run" and parts[-1] == "phase":
            return RunEvent(msg.subject, run=events_pb2.DryRunPhaseChanged.FromString(msg.data))
        if parts[1] == "step" and parts[-1] == "phase":
            return RunEvent(msg.subject, step=events_pb2.StepPhaseChanged.FromString(msg.data))
    except Exception:  # a payload that does not parse is not ours to crash on
        return None
    return None


class RunEvents:
    def __init__(self, jetstream: events.LazyJetStream) -> None:
        self.jetstream = jetstream

    async def _stream(self, subjects: list[str], deliver: DeliverPolicy) -> AsyncIterator[RunEvent]:
        js = await self.jetstream.get()
        queue: asyncio.Queue[Msg] = asyncio.Queue()
        subscriptions = [
            await js.subscribe(
                subject, stream=events.STREAM, ordered_consumer=True, deliver_policy=deliver,
                cb=queue.put,
            )
            for subject in subjects
        ]  # fmt: skip
        seen: set[str] = set()
        try:
            while True:
                event = decode(await queue.get())
                # Republished events (a watcher restart) reach us once.
                if event is None or event.event_id in seen:
                    continue
                seen.add(event.event_id)
                yield event
        finally:
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    async def of_dry_run(self, dry_run_id: str) -> AsyncIterator[RunEvent]:
        """The run's phase and step events, from its first, until it ends."""
        run = events.token(dry_run_id)
        root = events.SUBJECT_ROOT
        subjects = [f"{root}.run.*.{run}.phase", f"{root}.step.{run}.*.phase"]
        async for event in self._stream(subjects, DeliverPolicy.ALL):
            yield event
            if event.ends_run:
                return

    async def of_project(self, project_id: str) -> AsyncIterator[RunEvent]:
        """Phase changes of the project's runs from now on."""
        subject = f"{events.SUBJECT_ROOT}.run.{events.token(project_id)}.*.phase"
        async for event in self._stream([subject], DeliverPolicy.NEW):
            yield event
