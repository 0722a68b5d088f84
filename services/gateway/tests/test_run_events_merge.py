"""How a subscription merges the core-NATS and JetStream copies of events:
each event once, in publish order, core copies held back until every
consumer has caught up."""

import pytest
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from simpipe.v1 import events_pb2
from simpipe_common.events import MSG_ID_HEADER
from simpipe_gateway import run_events
from simpipe_gateway.run_events import RunEvent, _Delivery, _Merge

RUN_SUBJECT = "simpipe.run.p.r.phase"
STEP_SUBJECT = "simpipe.step.r.n.phase"
CORE = None


def run_event(phase: str, version: int) -> bytes:
    event = events_pb2.DryRunPhaseChanged(dry_run_id="r", phase=phase)
    event.meta.event_id = f"uid:{version}"
    return event.SerializeToString()


def step_event(phase: str) -> bytes:
    event = events_pb2.StepPhaseChanged(dry_run_id="r", node_id="n", phase=phase)
    event.meta.event_id = f"uid:n:{phase}"
    return event.SerializeToString()


def msg_id(data: bytes) -> dict[str, str]:
    # As events.publish sends them: the event id in JetStream's header too.
    try:
        event = events_pb2.DryRunPhaseChanged.FromString(data)
    except DecodeError:
        return {}  # junk: published by nobody we know
    return {MSG_ID_HEADER: event.meta.event_id} if event.meta.event_id else {}


def core(subject: str, data: bytes) -> Msg:
    return Msg(_client=None, subject=subject, data=data, headers=msg_id(data))  # type: ignore[arg-type]


def stored(subject: str, data: bytes, sequence: int, pending: int) -> Msg:
    # What a JetStream consumer's delivery carries in its reply subject.
    reply = f"$JS.ACK.SIMPIPE.consumer.1.{sequence}.{sequence}.1700000000000000000.{pending}"
    return Msg(_client=None, subject=subject, data=data, reply=reply, headers=msg_id(data))  # type: ignore[arg-type]


def ids(events: list[RunEvent]) -> list[str]:
    return [event.event_id for event in events]


def test_core_copies_wait_until_the_replay_has_caught_up_then_follow_it_in_order() -> None:
    merge = _Merge(consumers=1, replay=True)
    taken: list[RunEvent] = []
    # Running is published while the replay of Pending is still on its way.
    taken += merge.take(_Delivery(core(RUN_SUBJECT, run_event("Running", 2)), CORE))
    assert taken == []
    taken += merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Pending", 1), 1, 1), 0))
    assert ids(taken) == ["uid:1"]
    taken += merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Running", 2), 2, 0), 0))
    assert ids(taken) == ["uid:1", "uid:2"]
    # Live: the core copy goes at once, the stored copy after it is a repeat.
    taken += merge.take(_Delivery(core(RUN_SUBJECT, run_event("Succeeded", 3)), CORE))
    taken += merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Succeeded", 3), 3, 0), 0))
    assert ids(taken) == ["uid:1", "uid:2", "uid:3"]


def test_held_core_copies_are_passed_on_when_the_last_consumer_catches_up() -> None:
    merge = _Merge(consumers=2, replay=True)
    assert merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Running", 1), 1, 0), 0))
    # The step consumer has not caught up: a core copy of a step event waits.
    assert merge.take(_Delivery(core(STEP_SUBJECT, step_event("Running")), CORE)) == []
    assert merge.take(_Delivery(core(RUN_SUBJECT, run_event("Running", 4)), CORE)) == []
    taken = merge.take(_Delivery(stored(STEP_SUBJECT, step_event("Pending"), 2, 0), 1))
    assert ids(taken) == ["uid:n:Pending", "uid:n:Running", "uid:4"]


def test_after_a_dropped_connection_core_copies_wait_for_the_new_consumers() -> None:
    merge = _Merge(consumers=1, replay=True)
    merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Pending", 1), 1, 0), 0))
    merge.interrupted()
    # Running (2) was published while the connection was down: core missed it,
    # the new consumer redelivers it, and Succeeded (3) must not overtake it.
    assert merge.take(_Delivery(core(RUN_SUBJECT, run_event("Succeeded", 3)), CORE)) == []
    # A delivery of the old consumer, still queued, does not count as caught up.
    stale = _Delivery(stored(RUN_SUBJECT, run_event("Pending", 1), 1, 0), 0, generation=0)
    assert merge.take(stale) == []
    taken = merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Running", 2), 2, 1), 0, 1))
    taken += merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Succeeded", 3), 3, 0), 0, 1))
    assert ids(taken) == ["uid:2", "uid:3"]


def test_a_subscription_from_now_on_passes_core_copies_at_once() -> None:
    merge = _Merge(consumers=1, replay=False)
    taken = merge.take(_Delivery(core(RUN_SUBJECT, run_event("Running", 5)), CORE))
    assert ids(taken) == ["uid:5"]


def test_junk_on_either_path_is_skipped_without_ending_the_subscription() -> None:
    merge = _Merge(consumers=1, replay=False)
    assert merge.take(_Delivery(core(RUN_SUBJECT, b"\xff\x00junk"), CORE)) == []
    assert merge.take(_Delivery(core("simpipe.run.p.r.other", b""), CORE)) == []
    taken = merge.take(_Delivery(core(RUN_SUBJECT, run_event("Running", 6)), CORE))
    assert ids(taken) == ["uid:6"]


def test_a_copy_already_passed_on_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real_decode = run_events.decode

    def counting_decode(msg: Msg) -> RunEvent | None:
        decoded.append(msg.subject)
        return real_decode(msg)

    monkeypatch.setattr(run_events, "decode", counting_decode)
    merge = _Merge(consumers=1, replay=True)
    taken = merge.take(_Delivery(stored(RUN_SUBJECT, run_event("Running", 2), 1, 0), 0))
    taken += merge.take(_Delivery(core(RUN_SUBJECT, run_event("Running", 2)), CORE))
    assert ids(taken) == ["uid:2"]
    assert decoded == [RUN_SUBJECT]
