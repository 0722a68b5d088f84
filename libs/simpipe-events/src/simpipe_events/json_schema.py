"""JSON Schema of protobuf messages as the canonical proto3 JSON mapping
writes them (json_format.MessageToDict with its default options): the
payload schemas of the AsyncAPI document, read from events.proto's
descriptors.

Draft-07, the JSON Schema dialect every AsyncAPI 3.0 tool reads. Every
object has `additionalProperties: false`, so a payload that drifted from
its schema fails validation. Members of a oneof are each an optional
property: that only one of them is set is not said. Descriptions are the
.proto's comments: the generated modules carry none, so they are read from
the descriptor set `make protos` writes beside them.
"""

import importlib.resources
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Final

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from simpipe.v1 import events_pb2

DIALECT: Final = "http://json-schema.org/draft-07/schema#"
# AsyncAPI's name of this dialect, for a payload's `schemaFormat`.
SCHEMA_FORMAT: Final = "application/schema+json;version=draft-07"
# Written by `make protos` into the package of the generated modules.
DESCRIPTOR_SET: Final = "events.binpb"

Schema = dict[str, Any]

_FLOATING: Final[Schema] = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}
# 64-bit integers are written as decimal strings: JSON numbers lose
# precision beyond 2**53 in most readers.
_SIGNED_64: Final[Schema] = {"type": "string", "pattern": "^-?[0-9]+$"}
_UNSIGNED_64: Final[Schema] = {"type": "string", "pattern": "^[0-9]+$"}
_SIGNED_32: Final[Schema] = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UNSIGNED_32: Final[Schema] = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}

_SCALARS: Final[Mapping[int, Schema]] = {
    FieldDescriptor.TYPE_DOUBLE: _FLOATING,
    FieldDescriptor.TYPE_FLOAT: _FLOATING,
    FieldDescriptor.TYPE_INT64: _SIGNED_64,
    FieldDescriptor.TYPE_SINT64: _SIGNED_64,
    FieldDescriptor.TYPE_SFIXED64: _SIGNED_64,
    FieldDescriptor.TYPE_UINT64: _UNSIGNED_64,
    FieldDescriptor.TYPE_FIXED64: _UNSIGNED_64,
    FieldDescriptor.TYPE_INT32: _SIGNED_32,
    FieldDescriptor.TYPE_SINT32: _SIGNED_32,
    FieldDescriptor.TYPE_SFIXED32: _SIGNED_32,
    FieldDescriptor.TYPE_UINT32: _UNSIGNED_32,
    FieldDescriptor.TYPE_FIXED32: _UNSIGNED_32,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}

# JSON object keys are strings: a map's keys as the mapping spells them.
_MAP_KEYS: Final[Mapping[int, Schema]] = {
    **{kind: {"pattern": "^-?[0-9]+$"} for kind in (
        FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32,
    )},
    **{kind: {"pattern": "^[0-9]+$"} for kind in (
        FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32,
    )},
    FieldDescriptor.TYPE_BOOL: {"enum": ["true", "false"]},
}  # fmt: skip

# Well-known types have a JSON form of their own; one not listed here is
# refused rather than described as the object it is not.
_WELL_KNOWN: Final[Mapping[str, Schema]] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 in UTC ('Z'), with 0, 3, 6 or 9 fractional digits.",
    },
}


class UnsupportedTypeError(ValueError):
    """A field type this module has no JSON Schema for."""


def definitions(
    messages: Iterable[type[Message]], ref_prefix: str, comments: Mapping[str, str]
) -> dict[str, Schema]:
    """A schema of each message and of every message and enum it uses, by full
    name; they refer to each other as `ref_prefix` + full name."""
    schemas = _Schemas(ref_prefix, comments)
    for message in messages:
        descriptor = message.DESCRIPTOR
        if not isinstance(descriptor, Descriptor):  # never: upb's are Descriptors too
            raise TypeError(f"{message.__name__} has no message descriptor")
        schemas.ref(descriptor)
    return dict(sorted(schemas.found.items()))


def message_schema(message: type[Message], comments: Mapping[str, str] | None = None) -> Schema:
    """A self-contained schema document of one message (with the comments of
    events.proto when none are given)."""
    found = definitions(
        [message], "#/definitions/", load_comments() if comments is None else comments
    )
    return {
        "$schema": DIALECT,
        "$ref": f"#/definitions/{message.DESCRIPTOR.full_name}",
        "definitions": found,
    }


class _Schemas:
    def __init__(self, ref_prefix: str, comments: Mapping[str, str]) -> None:
        self.ref_prefix = ref_prefix
        self.comments = comments
        self.found: dict[str, Schema] = {}

    def ref(self, descriptor: Descriptor | EnumDescriptor) -> Schema:
        name = descriptor.full_name
        if name not in self.found:
            self.found[name] = {}  # taken before its fields: a message may contain itself
            if isinstance(descriptor, Descriptor):
                self.found[name] = self._message(descriptor)
            else:
                self.found[name] = self._enum(descriptor)
        return {"$ref": self.ref_prefix + name}

    def _message(self, descriptor: Descriptor) -> Schema:
        schema = _described({"type": "object", "title": descriptor.name}, self._comment(descriptor))
        schema["properties"] = {field.json_name: self._field(field) for field in descriptor.fields}
        schema["additionalProperties"] = False
        return schema

    def _enum(self, descriptor: EnumDescriptor) -> Schema:
        schema = _described({"type": "string", "title": descriptor.name}, self._comment(descriptor))
        schema["enum"] = [value.name for value in descriptor.values]
        return schema

    def _field(self, field: FieldDescriptor) -> Schema:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
            schema: Schema = {"type": "object", "additionalProperties": self._value(value)}
            if key.type in _MAP_KEYS:
                schema["propertyNames"] = _MAP_KEYS[key.type]
        elif field.is_repeated:
            schema = {"type": "array", "items": self._value(field)}
        else:
            schema = self._value(field)
        return _described(schema, self._comment(field))

    def _value(self, field: FieldDescriptor) -> Schema:
        kind = field.message_type or field.enum_type
        if kind is not None:
            if kind.full_name in _WELL_KNOWN:
                return dict(_WELL_KNOWN[kind.full_name])
            if kind.file.package == "google.protobuf":
                raise UnsupportedTypeError(
                    f"{field.full_name}: no JSON Schema for {kind.full_name} yet"
                )
            return self.ref(kind)
        if field.type not in _SCALARS:
            raise UnsupportedTypeError(f"{field.full_name}: no JSON Schema for type {field.type}")
        return dict(_SCALARS[field.type])

    def _comment(self, descriptor: Descriptor | EnumDescriptor | FieldDescriptor) -> str | None:
        return self.comments.get(descriptor.full_name)


def _described(schema: Schema, description: str | None) -> Schema:
    if not description:
        return schema
    if "$ref" in schema:
        # Draft-07 ignores the siblings of a $ref.
        return {"description": description, "allOf": [schema]}
    return {**schema, "description": description}


@cache
def load_comments() -> Mapping[str, str]:
    """events.proto's comments; none when `make protos` wrote no descriptor set."""
    resource = importlib.resources.files("simpipe.v1").joinpath(DESCRIPTOR_SET)
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(resource.read_bytes())
    except FileNotFoundError:
        return {}
    for file in files.file:
        if file.name == events_pb2.DESCRIPTOR.name:
            return comments_of(file)
    return {}


def comments_of(file: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    """The comment of each commented message, field and enum of a file (with
    its source info), by full name."""
    names = _names_by_path(file)
    found = {}
    for location in file.source_code_info.location:
        name = names.get(tuple(location.path))
        text = location.leading_comments or location.trailing_comments
        if name is not None and text.strip():
            found[name] = _prose(text)
    return found


def _names_by_path(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    """Source info names a declaration by its path of field numbers and
    indexes in the FileDescriptorProto."""
    names: dict[tuple[int, ...], str] = {}
    prefix = f"{file.package}." if file.package else ""

    def enums(
        path: tuple[int, ...], scope: str, found: Iterable[descriptor_pb2.EnumDescriptorProto]
    ) -> None:
        for index, enum in enumerate(found):
            names[(*path, index)] = scope + enum.name

    def messages(
        path: tuple[int, ...], scope: str, found: Iterable[descriptor_pb2.DescriptorProto]
    ) -> None:
        for index, message in enumerate(found):
            here, name = (*path, index), scope + message.name
            names[here] = name
            inner = descriptor_pb2.DescriptorProto
            for position, field in enumerate(message.field):
                names[(*here, inner.FIELD_FIELD_NUMBER, position)] = f"{name}.{field.name}"
            messages((*here, inner.NESTED_TYPE_FIELD_NUMBER), f"{name}.", message.nested_type)
            enums((*here, inner.ENUM_TYPE_FIELD_NUMBER), f"{name}.", message.enum_type)

    top = descriptor_pb2.FileDescriptorProto
    messages((top.MESSAGE_TYPE_FIELD_NUMBER,), prefix, file.message_type)
    enums((top.ENUM_TYPE_FIELD_NUMBER,), prefix, file.enum_type)
    return names


def _prose(comment: str) -> str:
    """A comment's paragraphs, each on one line: its line breaks are the
    .proto's line length, not meaning."""
    paragraphs = comment.strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
