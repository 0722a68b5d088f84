"""The publisher on the event stream in memory: a change's events leave in
order and stop at the first the stream does not acknowledge; a run's current
state goes out unless the stream's last event of the run already says it."""

import copy
from typing import Any

import pytest
from prometheus_client import REGISTRY

from simpipe_argo_watcher.changes import current_state_events, run_phase_event
from simpipe_argo_watcher.publisher import Publisher
from simpipe_argo_watcher.read_model import ReadModel, Snapshot
from simpipe_common.ownership import ANNOTATION_OWNER
from simpipe_common.testing import RecordedStream
from simpipe_events import contract

UID = "8d7707fb-cd3b-4049-b456-c91bbfa24e52"
PREPARE, EXPLODE = "capture-vkfvt-1556016048", "capture-vkfvt-2349931391"


def snapshot_of(workflow: dict[str, Any]) -> Snapshot:
    model = ReadModel()
    model.replace_all([workflow])
    (snapshot,) = model.snapshots()
    return snapshot


def ids(stream: RecordedStream) -> list[str]:
    return [contract.event_id(event) for event in stream.events]


@pytest.fixture
def stream() -> RecordedStream:
    return RecordedStream()


@pytest.fixture
def publisher(stream: RecordedStream) -> Publisher:
    return Publisher(stream, lambda: stream)


async def test_events_leave_in_order_up_to_the_first_not_acknowledged(
    stream: RecordedStream, publisher: Publisher, running: dict[str, Any]
) -> None:
    events = current_state_events(snapshot_of(running))
    stream.answers = [None, TimeoutError("NATS away")]
    with pytest.raises(TimeoutError):
        await publisher.publish(events)
    assert stream.events == events[:1]
    await publisher.publish(events)
    assert ids(stream) == [
        f"{UID}:{PREPARE}:Succeeded",
        f"{UID}:{PREPARE}:Succeeded",
        f"{UID}:{EXPLODE}:Running",
        f"{UID}:1432",
    ]
    assert stream.subjects[1:] == [contract.subject_of(event) for event in events]


async def test_the_current_state_goes_out_unless_the_stream_has_it(
    stream: RecordedStream, publisher: Publisher, running: dict[str, Any], failed: dict[str, Any]
) -> None:
    assert await publisher.publish_if_unpublished(snapshot_of(running))
    assert ids(stream) == [f"{UID}:{PREPARE}:Succeeded", f"{UID}:{EXPLODE}:Running", f"{UID}:1432"]
    # A restarted watcher or a new leader finds it there: nothing goes out twice.
    assert not await publisher.publish_if_unpublished(snapshot_of(running))
    assert len(stream.events) == 3
    # The run ended while nobody published: its steps, then its terminal phase.
    assert await publisher.publish_if_unpublished(snapshot_of(failed))
    assert ids(stream)[3:] == [
        f"{UID}:{PREPARE}:Succeeded",
        f"{UID}:{EXPLODE}:Failed",
        f"{UID}:1443",
    ]
    assert not await publisher.publish_if_unpublished(snapshot_of(failed))
    assert len(stream.events) == 6


async def test_the_same_state_of_an_earlier_run_of_that_name_is_no_reason_to_stay_quiet(
    stream: RecordedStream, publisher: Publisher, running: dict[str, Any]
) -> None:
    earlier = run_phase_event(snapshot_of(running))
    earlier.uid, earlier.meta.event_id = "an-earlier-uid", "an-earlier-uid:1000"
    stream.publish_soon(earlier)
    assert await publisher.publish_if_unpublished(snapshot_of(running))
    assert ids(stream)[-1] == f"{UID}:1432"


async def test_a_run_no_subject_can_name_is_left_out_without_holding_others_back(
    stream: RecordedStream, publisher: Publisher, running: dict[str, Any], failed: dict[str, Any]
) -> None:
    unowned = copy.deepcopy(running)
    del unowned["metadata"]["annotations"][ANNOTATION_OWNER]
    unowned["metadata"]["name"] = "unowned"
    left_out = REGISTRY.get_sample_value("simpipe_argo_watcher_events_unpublishable_total") or 0
    assert not await publisher.publish_if_unpublished(snapshot_of(unowned))
    await publisher.publish(
        [*current_state_events(snapshot_of(unowned)), *current_state_events(snapshot_of(failed))]
    )
    assert ids(stream) == [
        f"{UID}:{PREPARE}:Succeeded",
        f"{UID}:{EXPLODE}:Failed",
        f"{UID}:1443",
    ]
    assert REGISTRY.get_sample_value("simpipe_argo_watcher_events_unpublishable_total") == (
        left_out + 4
    )
