"""events.proto's compatibility lock (proto/simpipe/v1/events.lock.json):
every message's fields (number, name, label, type) and reserved numbers,
every event's subject template, every enum's values, as last recorded. Within v1 the contract only grows:
subscribers outside the mesh decode old and new events alike, by number on
the wire and by name in the proto3 JSON mapping. `problems` says what an
edit of events.proto broke; `python -m simpipe_events lock --update`
records additions and refuses the rest.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final, NamedTuple, NotRequired, TypedDict, cast

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

from simpipe.v1 import events_pb2

RULE: Final = (
    "Within v1 fields and messages are only added: a field's number, name and type never"
    " change, and a field that goes is `reserved`. A type change needs a new message"
    " version (v2), see events.proto."
)
_ABOUT: Final = (
    "The compatibility lock of events.proto, checked by libs/simpipe-events' tests."
    " Additions are recorded with `make events-lock`; other changes are refused."
)

_Field = descriptor_pb2.FieldDescriptorProto


class LockedField(TypedDict):
    number: int
    name: str
    label: str
    type: str
    # The message or enum of a field of that type.
    type_name: NotRequired[str]


class LockedMessage(TypedDict):
    # An event's subject template: subscribers filter by it.
    subject: NotRequired[str]
    fields: list[LockedField]
    # Inclusive [first, last] ranges.
    reserved_numbers: list[list[int]]
    reserved_names: list[str]


class LockedValue(TypedDict):
    number: int
    name: str


class LockedEnum(TypedDict):
    values: list[LockedValue]
    reserved_numbers: list[list[int]]
    reserved_names: list[str]


class Lock(TypedDict):
    about: str
    file: str
    messages: dict[str, LockedMessage]
    enums: dict[str, LockedEnum]


def snapshot(file: FileDescriptor = events_pb2.DESCRIPTOR) -> Lock:
    """The lock of the file as it is now."""
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    lock = Lock(about=_ABOUT, file=proto.name, messages={}, enums={})
    scope = f"{proto.package}." if proto.package else ""
    _add_messages(lock, scope, proto.message_type)
    _add_enums(lock, scope, proto.enum_type)
    return lock


def _add_messages(
    lock: Lock, scope: str, messages: Iterable[descriptor_pb2.DescriptorProto]
) -> None:
    for message in messages:
        name = scope + message.name
        locked = LockedMessage(
            fields=[_field(field) for field in sorted(message.field, key=lambda f: f.number)],
            # A message's reserved range ends before `end`.
            reserved_numbers=[[r.start, r.end - 1] for r in message.reserved_range],
            reserved_names=list(message.reserved_name),
        )
        subject = message.options.Extensions[events_pb2.subject]
        if subject:
            locked = LockedMessage(subject=subject, **locked)
        lock["messages"][name] = locked
        _add_messages(lock, f"{name}.", message.nested_type)
        _add_enums(lock, f"{name}.", message.enum_type)


def _add_enums(lock: Lock, scope: str, enums: Iterable[descriptor_pb2.EnumDescriptorProto]) -> None:
    for enum in enums:
        lock["enums"][scope + enum.name] = LockedEnum(
            values=[LockedValue(number=v.number, name=v.name) for v in enum.value],
            # An enum's reserved range includes `end`.
            reserved_numbers=[[r.start, r.end] for r in enum.reserved_range],
            reserved_names=list(enum.reserved_name),
        )


def _field(field: descriptor_pb2.FieldDescriptorProto) -> LockedField:
    locked = LockedField(
        number=field.number,
        name=field.name,
        label=_Field.Label.Name(field.label).removeprefix("LABEL_").lower(),
        type=_Field.Type.Name(field.type).removeprefix("TYPE_").lower(),
    )
    if field.type_name:
        locked["type_name"] = field.type_name.removeprefix(".")
    return locked


def problems(locked: Lock, current: Lock) -> list[str]:
    """What `current` changed of `locked` other than additions; empty when it
    only added."""
    found = []
    for name, message in locked["messages"].items():
        now = current["messages"].get(name)
        if now is None:
            found.append(f"message {name} is gone")
            continue
        if "subject" in message and now.get("subject") != message["subject"]:
            found.append(
                f"message {name}: subject `{message['subject']}` is now `{now.get('subject')}`"
            )
        found += _member_problems(
            f"message {name}", _fields(message), _fields(now),
            message["reserved_numbers"], now["reserved_numbers"],
        )  # fmt: skip
    for name, enum in locked["enums"].items():
        now_enum = current["enums"].get(name)
        if now_enum is None:
            found.append(f"enum {name} is gone")
            continue
        found += _member_problems(
            f"enum {name}", _values(enum), _values(now_enum),
            enum["reserved_numbers"], now_enum["reserved_numbers"],
        )  # fmt: skip
    return found


def _fields(message: LockedMessage) -> list["_Member"]:
    found = []
    for field in message["fields"]:
        # As events.proto declares it, e.g. `repeated string tags = 3`.
        label = "" if field["label"] == "optional" else f"{field['label']} "
        kind = field.get("type_name", field["type"])
        declared = f"{label}{kind} {field['name']} = {field['number']}"
        found.append(_Member(field["number"], field["name"], declared))
    return found


def _values(enum: LockedEnum) -> list["_Member"]:
    return [_Member(v["number"], v["name"], f"{v['name']} = {v['number']}") for v in enum["values"]]


class _Member(NamedTuple):
    """A field of a message or a value of an enum."""

    number: int
    name: str
    declared: str


def _member_problems(
    where: str,
    locked: list[_Member],
    current: list[_Member],
    locked_reserved: list[list[int]],
    current_reserved: list[list[int]],
) -> list[str]:
    found = []
    by_number = {member.number: member for member in current}
    by_name = {member.name: member for member in current}
    for member in locked:
        now = by_number.get(member.number)
        if now is None:
            if not _covered(member.number, member.number, current_reserved):
                found.append(f"{where}: `{member.declared}` is gone without being reserved")
        elif now.declared != member.declared:
            found.append(f"{where}: `{member.declared}` is now `{now.declared}`")
        # The wire knows a field by its number, the JSON mapping by its name.
        moved = by_name.get(member.name)
        if moved is not None and moved.number != member.number:
            found.append(f"{where}: `{member.declared}` is now `{moved.declared}`")
    for first, last in locked_reserved:
        reused = sorted(n for n in by_number if first <= n <= last)
        if reused:
            found.append(f"{where}: reserved {', '.join(map(str, reused))} used again")
        if not _covered(first, last, current_reserved):
            found.append(f"{where}: {first} to {last} no longer all reserved")
    return found


def _covered(first: int, last: int, ranges: list[list[int]]) -> bool:
    """Whether every number from first to last is in one of the inclusive ranges."""
    number = first
    while number <= last:
        within = [end for start, end in ranges if start <= number <= end]
        if not within:
            return False
        number = max(within) + 1
    return True


def render(lock: Lock) -> str:
    """JSON with one line per field and enum value, so that a diff of the lock
    reads like one of events.proto."""
    return _render(lock, "") + "\n"


def _render(value: object, indent: str) -> str:
    if not isinstance(value, dict | list) or _is_leaf(value):
        return json.dumps(value)
    inner = indent + "  "
    if isinstance(value, dict):
        members = [f"{inner}{json.dumps(key)}: {_render(v, inner)}" for key, v in value.items()]
        return "{\n" + ",\n".join(members) + f"\n{indent}}}"
    return "[\n" + ",\n".join(inner + _render(v, inner) for v in value) + f"\n{indent}]"


def _is_leaf(value: dict[str, object] | list[object]) -> bool:
    """Holds no object, at any depth."""
    members = value.values() if isinstance(value, dict) else value
    return all(
        not isinstance(m, dict) and (not isinstance(m, list) or _is_leaf(m)) for m in members
    )


def read(path: Path) -> Lock:
    return cast(Lock, json.loads(path.read_text()))
