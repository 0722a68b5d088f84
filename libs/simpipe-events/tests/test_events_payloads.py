"""Every event of the contract, built as its publisher builds it: its subject,
its bytes through the codec and back, its proto3 JSON against its JSON
Schema and against the AsyncAPI document's payload."""

from collections.abc import Mapping
from typing import Any, Final

import jsonschema
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from simpipe.v1 import events_pb2
from simpipe_events import asyncapi, contract, json_schema
from simpipe_events.codec import ProtobufCodec

OWNER: Final = "alice@example.org"
UID: Final = "6f1c2a9e-31d4-4c8e-9b0a-2f5d7e8c1a42"
RUN: Final = "etl-7xk2p"
TRACE: Final = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _meta(event_id: str, source: str) -> events_pb2.EventMeta:
    return contract.meta(event_id, source, trace_parent=TRACE)


EXAMPLES: Final[Mapping[type[Message], Message]] = {
    events_pb2.DryRunSubmitted: events_pb2.DryRunSubmitted(
        meta=_meta(f"submitted:{UID}", "workflow-submitter"),
        dry_run_id=RUN, project_id="sales-forecast", owner=OWNER, uid=UID,
    ),
    events_pb2.DryRunPhaseChanged: events_pb2.DryRunPhaseChanged(
        meta=_meta(f"{UID}:48213", "argo-watcher"),
        dry_run_id=RUN, project_id="sales-forecast", owner=OWNER, uid=UID,
        progress="1/3", message="", resource_version="48213",
        phase=events_pb2.DRY_RUN_PHASE_RUNNING,
    ),
    events_pb2.StepPhaseChanged: events_pb2.StepPhaseChanged(
        meta=_meta(f"{UID}:{RUN}-3021447915:Succeeded", "argo-watcher"),
        dry_run_id=RUN, project_id="sales-forecast", owner=OWNER, uid=UID,
        node_id=f"{RUN}-3021447915", display_name="fetch", exit_code="0",
        phase=events_pb2.NODE_PHASE_SUCCEEDED,
    ),
    events_pb2.MetricsReady: events_pb2.MetricsReady(
        meta=_meta(f"metrics:{UID}", "metrics-collector"),
        dry_run_id=RUN, project_id="", owner=OWNER, uid=UID, bucket="simpipe-reports",
        json_key=f"reports/{UID}.json", parquet_key=f"reports/{UID}.parquet",
        phase=events_pb2.DRY_RUN_PHASE_FAILED,
    ),
    events_pb2.ObjectCreated: events_pb2.ObjectCreated(
        meta=_meta("created:alice.inputs:9b2cf535f27731c974343645a3985328:etag-5", "storage-broker"),
        bucket="alice.inputs", key="raw/2024/orders.csv", size=5 * 2**30,
        etag='"9b2cf535f27731c974343645a3985328-5"', caller=OWNER, owner=OWNER,
    ),
    events_pb2.ObjectDeleted: events_pb2.ObjectDeleted(
        meta=_meta("deleted:alice.inputs:9b2cf535f27731c974343645a3985328:q81v", "storage-broker"),
        bucket="alice.inputs", key="raw/2024/orders.csv", caller="bob", owner=OWNER,
    ),
    events_pb2.SimulationProgressed: events_pb2.SimulationProgressed(
        meta=_meta("sim:etl-4x:12", "kwok-scaler"), simulation_id="etl-4x", project_id="etl",
        owner=OWNER, simulated_seconds=742.5, steps_done=37, steps_total=80, pods_pending=6,
        copies_done=3,
    ),
    events_pb2.SimulationEnded: events_pb2.SimulationEnded(
        meta=_meta("sim-ended:etl-4x", "kwok-scaler"), simulation_id="etl-4x", project_id="etl",
        owner=OWNER, phase=events_pb2.SIMULATION_PHASE_FAILED,
        message="step train-model can never be scheduled: 0/4 nodes are available",
        makespan_seconds=1830.0,
    ),
}  # fmt: skip

EVENT_NAMES: Final = [event.name for event in contract.EVENT_TYPES]


def example(event: contract.EventType) -> Message:
    return EXAMPLES[event.message]


def test_every_event_type_has_an_example() -> None:
    missing = {e.name for e in contract.EVENT_TYPES} - {m.__name__ for m in EXAMPLES}
    assert not missing, f"add an example of {missing} to EXAMPLES"


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=EVENT_NAMES)
async def test_an_event_round_trips_through_its_subject_and_the_codec(
    event: contract.EventType,
) -> None:
    sent = example(event)
    subject = contract.subject_of(sent)
    data, content_type = await ProtobufCodec().encode(sent)
    assert content_type == contract.CONTENT_TYPE_PREFIX + event.full_name
    assert contract.decode(subject, data) == sent


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=EVENT_NAMES)
def test_an_events_subject_is_its_types_alone(event: contract.EventType) -> None:
    subject = contract.subject_of(example(event))
    assert contract.event_type_of_subject(subject) == event
    assert event.matches(subject)
    assert [e.name for e in contract.EVENT_TYPES if e.matches(subject)] == [event.name]
    assert subject.split(".")[2] == contract.owner_token(OWNER)


def test_a_run_outside_any_project_has_the_no_project_token() -> None:
    subject = contract.subject_of(EXAMPLES[events_pb2.MetricsReady])
    assert subject.split(".")[4] == contract.NO_PROJECT


def test_a_buckets_dots_are_written_as_underscores() -> None:
    subject = contract.subject_of(EXAMPLES[events_pb2.ObjectCreated])
    assert subject.split(".")[4] == "alice_inputs"


def proto3_json(event: Message) -> dict[str, Any]:
    return MessageToDict(event)


def validator(event: contract.EventType) -> jsonschema.Draft7Validator:
    schema = json_schema.message_schema(event.message)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=EVENT_NAMES)
def test_an_events_proto3_json_is_valid_by_its_json_schema(event: contract.EventType) -> None:
    validator(event).validate(proto3_json(example(event)))


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=EVENT_NAMES)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"unknownField": "x"}, id="an extra field"),
        pytest.param({"meta": {"eventId": 7}}, id="a number for a string"),
        pytest.param({"meta": {"occurredAt": "yesterday"}}, id="a timestamp not in RFC 3339"),
        pytest.param({"meta": {"eventId": "e", "spanId": "s"}}, id="an extra field in meta"),
        pytest.param({"meta": "e-1"}, id="a string for a message"),
    ],
)
def test_a_payload_that_drifted_from_the_schema_is_invalid(
    event: contract.EventType, change: dict[str, Any]
) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator(event).validate({**proto3_json(example(event)), **change})


@pytest.mark.parametrize(
    ("event", "field", "value"),
    [
        (events_pb2.DryRunPhaseChanged, "phase", "Succeeded"),
        (events_pb2.DryRunPhaseChanged, "phase", 4),
        (events_pb2.StepPhaseChanged, "phase", "DRY_RUN_PHASE_SUCCEEDED"),
        (events_pb2.ObjectCreated, "size", 5368709120),
        (events_pb2.ObjectCreated, "size", "5 GiB"),
        (events_pb2.MetricsReady, "jsonKey", None),
    ],
)
def test_a_field_of_the_wrong_type_is_invalid(
    event: type[Message], field: str, value: object
) -> None:
    kind = contract.event_type(event)
    payload = {**proto3_json(EXAMPLES[event]), field: value}
    with pytest.raises(jsonschema.ValidationError):
        validator(kind).validate(payload)


def test_the_json_mapping_writes_64_bit_integers_as_strings_and_enums_by_name() -> None:
    created = proto3_json(EXAMPLES[events_pb2.ObjectCreated])
    assert created["size"] == str(5 * 2**30)
    changed = proto3_json(EXAMPLES[events_pb2.DryRunPhaseChanged])
    assert changed["phase"] == "DRY_RUN_PHASE_RUNNING"


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=EVENT_NAMES)
def test_the_asyncapi_payload_of_an_event_resolves_and_validates_it(
    event: contract.EventType,
) -> None:
    document = asyncapi.document()
    message = document["components"]["messages"][event.name]
    assert message["payload"]["schemaFormat"] == json_schema.SCHEMA_FORMAT
    root = "urn:simpipe:asyncapi"
    registry: Registry[Any] = Registry().with_resource(
        root, Resource.from_contents(document, default_specification=DRAFT7)
    )
    payload = jsonschema.Draft7Validator(
        {"$ref": root + message["payload"]["schema"]["$ref"]},
        registry=registry,
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )
    as_json = proto3_json(example(event))
    payload.validate(as_json)
    with pytest.raises(jsonschema.ValidationError):
        payload.validate({**as_json, "unknownField": 1})
    jsonschema.Draft7Validator(message["headers"]).validate(
        {
            contract.MSG_ID_HEADER: contract.event_id(example(event)),
            contract.TRACEPARENT_HEADER: TRACE,
            "content-type": message["contentType"],
        }
    )
