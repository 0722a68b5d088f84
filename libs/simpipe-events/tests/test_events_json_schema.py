"""JSON Schema from descriptors: each kind of proto3 field as MessageToDict
writes it, on a message made for the test; descriptions from events.proto's
comments."""

import math
from typing import Any

import jsonschema
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, timestamp_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from simpipe.v1 import events_pb2
from simpipe_events import json_schema

_Field = descriptor_pb2.FieldDescriptorProto


def kinds_file() -> descriptor_pb2.FileDescriptorProto:
    """`package kinds; message Kinds { ... }` with one field of each kind."""
    file = descriptor_pb2.FileDescriptorProto(
        name="kinds/kinds.proto", package="kinds", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )  # fmt: skip
    color = file.enum_type.add(name="Color")
    color.value.add(name="COLOR_UNSPECIFIED", number=0)
    color.value.add(name="COLOR_RED", number=1)
    kinds = file.message_type.add(name="Kinds")
    for number, (name, kind, type_name) in enumerate(
        [
            ("big_count", _Field.TYPE_INT64, ""),
            ("size", _Field.TYPE_UINT64, ""),
            ("small", _Field.TYPE_INT32, ""),
            ("ratio", _Field.TYPE_DOUBLE, ""),
            ("flag", _Field.TYPE_BOOL, ""),
            ("data", _Field.TYPE_BYTES, ""),
            ("color", _Field.TYPE_ENUM, ".kinds.Color"),
            ("child", _Field.TYPE_MESSAGE, ".kinds.Kinds"),
            ("at", _Field.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        ],
        start=1,
    ):
        field = kinds.field.add(name=name, number=number, type=kind, label=_Field.LABEL_OPTIONAL)
        if type_name:
            field.type_name = type_name
    kinds.field.add(name="tags", number=20, type=_Field.TYPE_STRING, label=_Field.LABEL_REPEATED)
    for name, number, key in (
        ("labels", 21, _Field.TYPE_STRING),
        ("per_hour", 22, _Field.TYPE_INT32),
    ):
        entry = kinds.nested_type.add(name=f"{name.title().replace('_', '')}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=key, label=_Field.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=_Field.TYPE_INT64, label=_Field.LABEL_OPTIONAL)
        kinds.field.add(name=name, number=number, type=_Field.TYPE_MESSAGE,
                        type_name=f".kinds.Kinds.{entry.name}", label=_Field.LABEL_REPEATED)  # fmt: skip
    return file


def message_class(file: descriptor_pb2.FileDescriptorProto, name: str) -> type[Message]:
    pool = descriptor_pool.DescriptorPool()
    for dependency in (timestamp_pb2, duration_pb2):
        pool.AddSerializedFile(dependency.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return GetMessageClass(pool.FindMessageTypeByName(name))


KINDS = message_class(kinds_file(), "kinds.Kinds")


def validator(message: type[Message]) -> jsonschema.Draft7Validator:
    schema = json_schema.message_schema(message, comments={})
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def full_kinds() -> dict[str, Any]:
    kinds = KINDS()
    kinds.big_count = -(2**62)  # type: ignore[attr-defined]
    kinds.size = 2**64 - 1  # type: ignore[attr-defined]
    kinds.small = -7  # type: ignore[attr-defined]
    kinds.ratio = 0.25  # type: ignore[attr-defined]
    kinds.flag = True  # type: ignore[attr-defined]
    kinds.data = b"\x00\xff"  # type: ignore[attr-defined]
    kinds.color = 1  # type: ignore[attr-defined]
    kinds.child.small = 1  # type: ignore[attr-defined]
    kinds.child.child.tags.append("deep")  # type: ignore[attr-defined]
    kinds.at.FromSeconds(1_700_000_000)  # type: ignore[attr-defined]
    kinds.tags.extend(["a", "b"])  # type: ignore[attr-defined]
    kinds.labels["team"] = 3  # type: ignore[attr-defined]
    kinds.per_hour[-1] = 2**40  # type: ignore[attr-defined]
    written: dict[str, Any] = MessageToDict(kinds)
    return written


def test_every_kind_of_field_is_valid_as_the_json_mapping_writes_it() -> None:
    written = full_kinds()
    assert written["bigCount"] == str(-(2**62))
    assert written["perHour"] == {"-1": str(2**40)}
    validator(KINDS).validate(written)


@pytest.mark.parametrize("ratio", [math.nan, math.inf, -math.inf])
def test_floating_point_specials_are_valid_as_their_names(ratio: float) -> None:
    kinds = KINDS()
    kinds.ratio = ratio  # type: ignore[attr-defined]
    validator(KINDS).validate(MessageToDict(kinds))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bigCount", 5),
        ("bigCount", "5.0"),
        ("size", "-1"),
        ("small", 2**31),
        ("small", "7"),
        ("ratio", "fast"),
        ("flag", "true"),
        ("color", "COLOR_BLUE"),
        ("color", 1),
        ("tags", "a"),
        ("tags", [1]),
        ("labels", {"team": 3}),
        ("perHour", {"one": "1"}),
        ("at", "1700000000"),
        ("child", {"smallish": 1}),
        ("child", {"child": {"flag": 1}}),
        ("big_count", "5"),
    ],
)
def test_a_value_the_json_mapping_never_writes_is_invalid(field: str, value: object) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator(KINDS).validate({**full_kinds(), field: value})


def test_a_well_known_type_without_a_json_schema_is_refused() -> None:
    file = descriptor_pb2.FileDescriptorProto(
        name="kinds/later.proto", package="kinds", syntax="proto3",
        dependency=["google/protobuf/duration.proto"],
    )  # fmt: skip
    file.message_type.add(name="Later").field.add(
        name="after", number=1, type=_Field.TYPE_MESSAGE,
        type_name=".google.protobuf.Duration", label=_Field.LABEL_OPTIONAL,
    )  # fmt: skip
    with pytest.raises(json_schema.UnsupportedTypeError, match=r"google\.protobuf\.Duration"):
        json_schema.message_schema(message_class(file, "kinds.Later"), comments={})


def test_references_name_the_full_name_under_the_prefix() -> None:
    found = json_schema.definitions([KINDS], "#/components/schemas/", {})
    assert set(found) == {"kinds.Kinds", "kinds.Color"}
    properties = found["kinds.Kinds"]["properties"]
    assert properties["child"] == {"$ref": "#/components/schemas/kinds.Kinds"}
    assert properties["color"] == {"$ref": "#/components/schemas/kinds.Color"}


def test_descriptions_are_the_protos_comments() -> None:
    comments = json_schema.load_comments()
    assert comments, "no descriptor set with source info: run `make protos`"
    schema = json_schema.message_schema(events_pb2.DryRunPhaseChanged)["definitions"]
    changed = schema["simpipe.v1.DryRunPhaseChanged"]
    assert changed["description"].startswith("A dry run's phase, progress or message changed.")
    # A comment's line breaks are the file's, not the text's.
    assert "\n" not in changed["description"]
    assert changed["properties"]["progress"]["description"] == 'Argo\'s "done/total", e.g. "2/3".'
    assert schema["simpipe.v1.DryRunPhase"]["description"].startswith("A dry run's phase")
    # A described reference keeps its target (draft-07 ignores a $ref's siblings).
    phase = json_schema.message_schema(events_pb2.MetricsReady)["definitions"][
        "simpipe.v1.MetricsReady"
    ]["properties"]["phase"]
    assert phase == {
        "description": "The run's terminal phase.",
        "allOf": [{"$ref": "#/definitions/simpipe.v1.DryRunPhase"}],
    }


def test_comments_are_read_by_declaration() -> None:
    file = kinds_file()
    file.source_code_info.location.add(
        path=[4, 0], leading_comments=" Every kind.\n One line.\n\n Two.\n"
    )
    file.source_code_info.location.add(path=[4, 0, 2, 3], trailing_comments=" A share.\n")
    file.source_code_info.location.add(path=[5, 0], leading_comments=" Colors.\n")
    file.source_code_info.location.add(path=[4, 0, 3, 0], leading_comments=" An entry.\n")
    file.source_code_info.location.add(path=[4, 0, 2, 0], leading_detached_comments=[" Not it. "])
    assert json_schema.comments_of(file) == {
        "kinds.Kinds": "Every kind. One line.\n\nTwo.",
        "kinds.Kinds.ratio": "A share.",
        "kinds.Color": "Colors.",
        "kinds.Kinds.LabelsEntry": "An entry.",
    }


def test_without_a_descriptor_set_there_are_no_descriptions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json_schema, "DESCRIPTOR_SET", "missing.binpb")
    json_schema.load_comments.cache_clear()
    try:
        assert json_schema.load_comments() == {}
        schema = json_schema.message_schema(events_pb2.DryRunSubmitted)
        assert "description" not in schema["definitions"]["simpipe.v1.DryRunSubmitted"]
    finally:
        json_schema.load_comments.cache_clear()
