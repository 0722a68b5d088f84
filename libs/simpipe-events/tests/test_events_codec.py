"""The protobuf codec, and the dead letters of what it cannot decode, on
FastStream's test broker (no NATS)."""

import re
from typing import Any, Final, cast
from unittest import mock

import pytest
from faststream import NoCast, StreamMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub, TestNatsBroker
from faststream.nats.testing import PatchedMessage
from google.protobuf.message import Message
from nats.aio.msg import Msg

from simpipe.v1 import events_pb2
from simpipe_events import contract, dead_letters
from simpipe_events.codec import ProtobufCodec, content_type
from simpipe_events.stream import REPORTS, STREAM

PHASE: Final = events_pb2.DryRunPhaseChanged(
    meta=contract.meta("uid-1:7", "argo-watcher"), dry_run_id="etl-1", project_id="p",
    owner="alice", uid="uid-1", phase=events_pb2.DRY_RUN_PHASE_SUCCEEDED,
)  # fmt: skip
SUBJECT: Final = contract.subject_of(PHASE)
# Not a DryRunPhaseChanged: a length-delimited field 1 longer than the bytes.
GARBAGE: Final = b"\x0a\xff\x01garbage"
CONSUMER: Final = "metrics-collector"


def stream_message(subject: str, data: bytes) -> StreamMessage[Any]:
    raw = Msg(_client=cast(Any, None), subject=subject, data=data)
    return StreamMessage(raw_message=raw, body=data)


async def test_the_codec_decodes_the_event_its_subject_names() -> None:
    codec = ProtobufCodec()
    data, kind = await codec.encode(PHASE)
    assert (
        kind == content_type(PHASE) == f"{contract.CONTENT_TYPE_PREFIX}{PHASE.DESCRIPTOR.full_name}"
    )
    assert await codec.decode(stream_message(SUBJECT, data)) == PHASE


@pytest.mark.parametrize(
    ("subject", "data"),
    [
        pytest.param(SUBJECT, GARBAGE, id="garbage on a contract subject"),
        pytest.param(SUBJECT, b"\xff", id="a broken tag on a contract subject"),
        pytest.param("simpipe.v1.deadletter.x", b"", id="nothing on another subject"),
        pytest.param("orders.created", PHASE.SerializeToString(), id="an event elsewhere"),
        pytest.param(SUBJECT.replace(".phase", ".phases"), b"", id="a near miss"),
        pytest.param(SUBJECT, b"", id="an event without an id"),
        pytest.param(
            contract.subject_of(
                events_pb2.DryRunPhaseChanged(
                    meta=PHASE.meta, dry_run_id="etl-1", project_id="p", owner="mallory"
                )
            ),
            PHASE.SerializeToString(),
            id="alice's event on mallory's subject",
        ),
        pytest.param(
            SUBJECT.replace("etl-1", "etl-2"), PHASE.SerializeToString(), id="another run's"
        ),
        pytest.param(
            SUBJECT.replace(contract.owner_token("alice"), "deadletter"),
            PHASE.SerializeToString(),
            id="no owner token",
        ),
    ],
)
async def test_what_is_no_event_of_the_contract_is_undecodable(subject: str, data: bytes) -> None:
    with pytest.raises(contract.UndecodableEventError):
        contract.decode(subject, data)
    with pytest.raises(contract.UndecodableEventError):
        await ProtobufCodec().decode(stream_message(subject, data))


async def test_the_codec_passes_none_and_bytes_and_refuses_the_rest() -> None:
    codec = ProtobufCodec()
    assert await codec.encode(None) == (b"", None)
    assert await codec.encode(GARBAGE) == (GARBAGE, None)
    for other in ("an event", {"phase": "Succeeded"}, 7, bytearray(b"x")):
        with pytest.raises(TypeError):
            await codec.encode(other)


def consuming_broker(handled: list[Message]) -> NatsBroker:
    """A service's broker: the codec, the dead letters, a durable subscriber."""
    broker = NatsBroker(codec=ProtobufCodec(), middlewares=[dead_letters.dead_letters(CONSUMER)])

    @broker.subscriber(
        REPORTS.filter_subject, stream=JStream(STREAM, declare=False), durable=REPORTS.name,
        pull_sub=PullSub(),
    )  # fmt: skip
    async def handle(event: NoCast[Message]) -> None:
        handled.append(event)

    return broker


def dead_letter_reader(parked: list[tuple[bytes, dict[str, str]]]) -> NatsBroker:
    """Another tool reading the dead letters: bytes, no codec."""
    reader = NatsBroker()

    @reader.subscriber(
        dead_letters.dead_letter_subject(CONSUMER), stream=JStream(STREAM, declare=False)
    )
    async def park(message: NatsMessage) -> None:
        parked.append((message.body, dict(message.headers)))

    return reader


def jetstream_reply(sequence: int) -> str:
    """The reply subject of a JetStream delivery (its acknowledgement)."""
    return f"$JS.ACK.{STREAM}.{REPORTS.name}.1.{sequence}.{sequence}.1700000000000000000.0"


async def test_an_undecodable_event_is_parked_once_and_never_handled() -> None:
    handled: list[Message] = []
    parked: list[tuple[bytes, dict[str, str]]] = []
    with mock.patch.object(PatchedMessage, "term", autospec=True) as term:
        async with TestNatsBroker(consuming_broker(handled), dead_letter_reader(parked)) as (
            broker,
            _,
        ):
            await broker.publish(GARBAGE, SUBJECT, stream=STREAM, reply_to=jetstream_reply(1))
            assert handled == []
            assert len(parked) == 1
            body, headers = parked[0]
            assert body == GARBAGE
            assert headers[dead_letters.ORIGINAL_SUBJECT_HEADER] == SUBJECT
            assert "DryRunPhaseChanged" in headers[dead_letters.REASON_HEADER]
            assert headers[contract.MSG_ID_HEADER].startswith(f"dead:{CONSUMER}:")
            # Terminated, not left to be redelivered.
            assert term.call_count == 1

            # Its redelivery is parked under the same id: JetStream keeps one.
            await broker.publish(GARBAGE, SUBJECT, stream=STREAM, reply_to=jetstream_reply(1))
            assert parked[1][1][contract.MSG_ID_HEADER] == headers[contract.MSG_ID_HEADER]
            # Another message is another dead letter.
            await broker.publish(GARBAGE + b"!", SUBJECT, stream=STREAM)
            assert parked[2][1][contract.MSG_ID_HEADER] != headers[contract.MSG_ID_HEADER]


async def test_an_event_is_handled_and_not_parked() -> None:
    handled: list[Message] = []
    parked: list[tuple[bytes, dict[str, str]]] = []
    async with TestNatsBroker(consuming_broker(handled), dead_letter_reader(parked)) as (
        broker,
        _,
    ):
        # FastStream's annotation names the bodies its own codec takes.
        event = cast("Any", PHASE)
        await broker.publish(event, SUBJECT, stream=STREAM, reply_to=jetstream_reply(2))
        assert handled == [PHASE]
        assert parked == []


def test_a_dead_letter_subject_is_no_owners() -> None:
    subject = dead_letters.dead_letter_subject(CONSUMER)
    assert contract.event_type_of_subject(subject) is None
    # Owner tokens are 32 hex digits: no owner's filter reaches the dead letters.
    assert not re.fullmatch("[0-9a-f]{32}", subject.split(".")[2])
    with pytest.raises(contract.InvalidSubjectTokenError):
        dead_letters.dead_letter_subject("metrics.>")
