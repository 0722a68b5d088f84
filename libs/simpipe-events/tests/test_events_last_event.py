"""The last event of a subject, read from the stream in memory."""

from simpipe.v1 import events_pb2
from simpipe_common.testing import RecordedStream
from simpipe_events import contract
from simpipe_events.last_event import last_event


def ready(run: str, uid: str, owner: str = "alice") -> events_pb2.MetricsReady:
    return events_pb2.MetricsReady(
        meta=contract.meta(f"metrics:{uid}", "test"), owner=owner, dry_run_id=run, uid=uid
    )


async def test_the_last_event_of_the_subject_or_none() -> None:
    stream = RecordedStream()
    assert await last_event(stream, ready("run-a", "")) is None
    for event in (ready("run-a", "1"), ready("run-a", "2"), ready("run-b", "3")):
        await stream.publish(event)
    await stream.publish(ready("run-a", "4", owner="bob"))  # another owner's run of that name
    found = await last_event(stream, ready("run-a", ""))
    assert isinstance(found, events_pb2.MetricsReady)
    assert (found.uid, found.owner, found.meta.event_id) == ("2", "alice", "metrics:2")
