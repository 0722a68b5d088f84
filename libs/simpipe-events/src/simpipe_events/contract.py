"""SIM-PIPE's event contract, read from proto/simpipe/v1/events.proto: which
events exist, the subject each is published on, who publishes it, the phases
and which of them are terminal.

Nothing else in the mesh spells a subject or a phase. A subject is built
from the event itself (`subject_of`), so a publisher cannot put an event
where its subscribers do not look; a filter is built from the same template
(`filter_of`), so a subscriber cannot look where it may not: the owner is
the second token after the version, and a filter that names an owner
matches no other owner's subject.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from google.protobuf.descriptor import Descriptor, EnumDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import events_pb2

VERSION: Final = "v1"
ROOT: Final = f"simpipe.{VERSION}"
# JetStream's de-duplication header: every event carries its event id in it.
MSG_ID_HEADER: Final = "Nats-Msg-Id"
TRACEPARENT_HEADER: Final = "traceparent"
# The content type the codec writes: a protobuf message of the named type.
CONTENT_TYPE_PREFIX: Final = "application/x-protobuf; messageType="
# A run outside any project has this project token.
NO_PROJECT: Final = "_"

DryRunPhase = events_pb2.DryRunPhase
NodePhase = events_pb2.NodePhase

# Subject tokens are what Kubernetes names and Argo node ids contain: never
# '.', '*', '>' or whitespace, which would change what the subject says.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,253}")
_PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
_OWNER_TOKEN = re.compile(r"[0-9a-f]{32}")


class InvalidSubjectTokenError(ValueError):
    """A value that cannot be a subject token (it would widen or move a subject)."""


def token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise InvalidSubjectTokenError(f"{value[:80]!r} cannot be part of an event subject")
    return value


def owner_token(owner: str) -> str:
    """The `{owner}` token: the first 32 hex digits of sha256(owner). The same
    digest is the owner-hash label of SIM-PIPE's Kubernetes objects."""
    if not owner:
        raise InvalidSubjectTokenError("an event subject needs an owner")
    # surrogatepass: a lone surrogate (JSON can carry one) is still a name.
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def bucket_token(bucket: str) -> str:
    """S3 bucket names may hold '.', never '_': '.' is written '_'."""
    return token(bucket.replace(".", "_"))


# How each placeholder's token is made from the event field of the same
# meaning; an empty project is `_`.
_FIELDS: Final[Mapping[str, str]] = {
    "owner": "owner",
    "project": "project_id",
    "run": "dry_run_id",
    "node": "node_id",
    "bucket": "bucket",
    "simulation": "simulation_id",
}


def _fill(placeholder: str, value: str) -> str:
    if placeholder == "owner":
        return owner_token(value)
    if placeholder == "bucket":
        return bucket_token(value)
    if placeholder == "project":
        return token(value or NO_PROJECT)
    return token(value)


@dataclass(frozen=True)
class EventType:
    """One event of the contract: its message type and where it goes."""

    message: type[Message]
    template: str
    publisher: str

    @property
    def name(self) -> str:
        return self.message.DESCRIPTOR.name

    @property
    def full_name(self) -> str:
        return self.message.DESCRIPTOR.full_name

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.template.split("."))

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(m.group(1) for t in self.tokens if (m := _PLACEHOLDER.fullmatch(t)))

    def subject(self, **values: str) -> str:
        """The subject with every placeholder filled (owner given by name:
        it is hashed here)."""
        missing = set(self.placeholders) - values.keys()
        if missing:
            raise InvalidSubjectTokenError(f"{self.name} needs {', '.join(sorted(missing))}")
        return self._build(values, wildcard=False)

    def filter(self, **values: str | None) -> str:
        """A filter of this event type: placeholders not given (or None) match
        any token."""
        unknown = values.keys() - set(self.placeholders)
        if unknown:
            raise InvalidSubjectTokenError(f"{self.name} has no {', '.join(sorted(unknown))}")
        return self._build(values, wildcard=True)

    def _build(self, values: Mapping[str, str | None], wildcard: bool) -> str:
        out = []
        for part in self.tokens:
            found = _PLACEHOLDER.fullmatch(part)
            if found is None:
                out.append(part)
                continue
            value = values.get(found.group(1))
            out.append("*" if value is None and wildcard else _fill(found.group(1), value or ""))
        return ".".join(out)

    def parse(self, subject: str) -> dict[str, str] | None:
        """The tokens of a subject of this type, by placeholder (the owner as
        its token); None for another subject."""
        if not self.matches(subject):
            return None
        return {
            found.group(1): part
            for t, part in zip(self.tokens, subject.split("."), strict=True)
            if (found := _PLACEHOLDER.fullmatch(t))
        }

    def matches(self, subject: str) -> bool:
        parts = subject.split(".")
        return len(parts) == len(self.tokens) and all(
            t == p
            or ((found := _PLACEHOLDER.fullmatch(t)) is not None and _fits(found.group(1), p))
            for t, p in zip(self.tokens, parts, strict=True)
        )


def _fits(placeholder: str, token: str) -> bool:
    # The owner token is a digest: `deadletter` and the like are never one.
    pattern = _OWNER_TOKEN if placeholder == "owner" else _TOKEN
    return pattern.fullmatch(token) is not None


def _event_types() -> tuple[EventType, ...]:
    found = []
    for descriptor in events_pb2.DESCRIPTOR.message_types_by_name.values():
        options = descriptor.GetOptions()
        template = options.Extensions[events_pb2.subject]
        if not template:
            continue  # EventMeta: part of every event, not one itself
        message = _message_class(descriptor)
        event = EventType(message, template, options.Extensions[events_pb2.publisher])
        _check_template(event, descriptor)
        found.append(event)
    return tuple(found)


def _message_class(descriptor: Descriptor) -> type[Message]:
    message: type[Message] = getattr(events_pb2, descriptor.name)
    return message


def _check_template(event: EventType, descriptor: Descriptor) -> None:
    """A template the rest of this module can rely on, or an error at import."""
    if not event.template.startswith(f"{ROOT}.{{owner}}."):
        raise ValueError(f"{event.name}: subjects start with {ROOT}.{{owner}}.")
    if "meta" not in descriptor.fields_by_name:
        raise ValueError(f"{event.name}: every event has `EventMeta meta = 1`")
    for placeholder in event.placeholders:
        field = _FIELDS.get(placeholder)
        if field is None or field not in descriptor.fields_by_name:
            raise ValueError(f"{event.name}: no field for {{{placeholder}}}")
    for part in event.tokens:
        if _PLACEHOLDER.fullmatch(part) is None and not _TOKEN.fullmatch(part):
            raise ValueError(f"{event.name}: {part!r} is not a subject token")


EVENT_TYPES: Final = _event_types()
_BY_MESSAGE: Final = {event.message: event for event in EVENT_TYPES}
_BY_FULL_NAME: Final = {event.full_name: event for event in EVENT_TYPES}


def event_type(message: Message | type[Message]) -> EventType:
    cls = message if isinstance(message, type) else type(message)
    try:
        return _BY_MESSAGE[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not an event of the contract") from None


def event_type_named(full_name: str) -> EventType | None:
    return _BY_FULL_NAME.get(full_name)


def event_type_of_subject(subject: str) -> EventType | None:
    """The contract's event published on `subject`; None for any other subject."""
    for event in EVENT_TYPES:
        if event.matches(subject):
            return event
    return None


def subject_of(event: Message) -> str:
    """Where `event` is published: its type's template filled from its fields."""
    kind = event_type(event)
    values = {p: str(getattr(event, _FIELDS[p])) for p in kind.placeholders}
    return kind.subject(**values)


def event_id(event: Message) -> str:
    meta: events_pb2.EventMeta = event.meta  # type: ignore[attr-defined]
    if not meta.event_id:
        raise ValueError(f"{type(event).__name__} has no event id")
    return meta.event_id


class UndecodableEventError(ValueError):
    """A message on the mesh's subjects that is not an event of the contract."""


def decode(subject: str, data: bytes) -> Message:
    """The event on `subject`; UndecodableEventError for anything else,
    including an event without an id or one whose fields name another
    subject (subscribers route by subject: it must say what the event says)."""
    kind = event_type_of_subject(subject)
    if kind is None:
        raise UndecodableEventError(f"{subject[:200]!r} is no subject of the event contract")
    where = f"{kind.name} on {subject[:200]!r}"
    try:
        event = kind.message.FromString(data)
    except DecodeError as error:
        raise UndecodableEventError(f"{where}: {error}") from None
    if not event.meta.event_id:  # type: ignore[attr-defined]
        raise UndecodableEventError(f"{where}: no event id")
    try:
        belongs = subject_of(event) == subject
    except InvalidSubjectTokenError as error:
        raise UndecodableEventError(f"{where}: {error}") from None
    if not belongs:
        raise UndecodableEventError(f"{where}: its fields name another subject")
    return event


def meta(event_id: str, source: str, trace_parent: str = "") -> events_pb2.EventMeta:
    occurred = Timestamp()
    occurred.FromDatetime(datetime.now(UTC))
    return events_pb2.EventMeta(
        event_id=event_id, occurred_at=occurred, trace_parent=trace_parent, source=source
    )


def owner_filter(owner: str) -> str:
    """Everything of one owner."""
    return f"{ROOT}.{owner_token(owner)}.>"


def _run_events_below(placeholder: str | None, **values: str | None) -> str:
    """Every run event below the run template's `{placeholder}` (below its
    `run` token for None): the run-phase filter cut there, then `>`."""
    kind = event_type(events_pb2.DryRunPhaseChanged)
    cut = kind.tokens.index("run" if placeholder is None else f"{{{placeholder}}}") + 1
    return ".".join([*kind.filter(**values).split(".")[:cut], ">"])


def all_runs_filter() -> str:
    """Every run event of every owner: for services that serve them all."""
    return _run_events_below(None)


def run_filter(owner: str, run: str, project: str | None = None) -> str:
    """Every event of one owner's run: its phases, its steps', its report."""
    return _run_events_below("run", owner=owner, project=project, run=run)


def project_runs_filter(owner: str, project: str) -> str:
    """Every run event of one owner's project."""
    return _run_events_below("project", owner=owner, project=project)


# Phases. Names as Argo spells them ("Succeeded"): GraphQL and logs use them.
def _terminal(enum: EnumDescriptor) -> frozenset[int]:
    return frozenset(
        value.number for value in enum.values if value.GetOptions().Extensions[events_pb2.terminal]
    )


TERMINAL_RUN_PHASES: Final = _terminal(events_pb2.DryRunPhase.DESCRIPTOR)
TERMINAL_NODE_PHASES: Final = _terminal(events_pb2.NodePhase.DESCRIPTOR)
TERMINAL_SIMULATION_PHASES: Final = _terminal(events_pb2.SimulationPhase.DESCRIPTOR)


def run_phase_name(phase: int) -> str:
    """ "Succeeded" for DRY_RUN_PHASE_SUCCEEDED."""
    return DryRunPhase.Name(phase).removeprefix("DRY_RUN_PHASE_").capitalize()  # type: ignore[arg-type]


def node_phase_name(phase: int) -> str:
    return NodePhase.Name(phase).removeprefix("NODE_PHASE_").capitalize()  # type: ignore[arg-type]


def run_phase_of_name(name: str) -> int:
    """The phase named as Argo names it; UNKNOWN for a name it does not know."""
    return int(_RUN_PHASES_BY_NAME.get(name, events_pb2.DRY_RUN_PHASE_UNKNOWN))


def node_phase_of_name(name: str) -> int:
    return int(_NODE_PHASES_BY_NAME.get(name, events_pb2.NODE_PHASE_UNKNOWN))


RUN_PHASE_NAMES: Final = tuple(run_phase_name(v) for v in DryRunPhase.values() if v)
NODE_PHASE_NAMES: Final = tuple(node_phase_name(v) for v in NodePhase.values() if v)
_RUN_PHASES_BY_NAME: Final = {run_phase_name(v): v for v in DryRunPhase.values() if v}
_NODE_PHASES_BY_NAME: Final = {node_phase_name(v): v for v in NodePhase.values() if v}
