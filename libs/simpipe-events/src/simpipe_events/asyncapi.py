"""The AsyncAPI 3.0 document of SIM-PIPE's events, for tools outside the mesh
that subscribe to them: a channel, a message and an operation per event of
the contract, payload schemas from events.proto (json_schema), and the
dead letters. Served by the gateway (/asyncapi.json) and committed as
proto/simpipe/v1/events.asyncapi.json (`make asyncapi`).
"""

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from simpipe.v1 import events_pb2
from simpipe_events import codec, contract, dead_letters, json_schema, stream

ASYNCAPI_VERSION: Final = "3.0.0"
_SCHEMAS: Final = "#/components/schemas/"
_DEAD_LETTER: Final = "DeadLetter"
# FastStream writes the codec's content type in this header.
_CONTENT_TYPE_HEADER: Final = "content-type"

# What each `{placeholder}` of a subject template holds.
_PARAMETERS: Final[Mapping[str, str]] = {
    "owner": (
        "The first 32 hex digits of the SHA-256 of the owner's name (the event's `owner`,"
        " UTF-8): owner names hold characters a subject token cannot."
    ),
    "project": (
        f"The project id (`projectId`); `{contract.NO_PROJECT}` for a run outside any project."
    ),
    "run": "The dry run's id (`dryRunId`).",
    "node": "The step's Argo node id (`nodeId`).",
    "bucket": "The bucket (`bucket`) with each '.' written as '_'.",
    "simulation": "The simulation's id (`simulationId`).",
}
# Schemes of a NATS URL and the AsyncAPI protocol each speaks.
_PROTOCOLS: Final[Mapping[str, str]] = {"nats": "nats", "tls": "nats", "ws": "ws", "wss": "wss"}


def document(server_url: str | None = None) -> dict[str, Any]:
    """The document; `server_url` (a NATS URL, or several separated by
    commas) fills `servers`, without any credentials it holds."""
    comments = json_schema.load_comments()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event in contract.EVENT_TYPES:
        channels[event.name], operations[f"send{event.name}"], messages[event.name] = _event(
            event, comments.get(event.full_name, "")
        )
    channels[_DEAD_LETTER], operations[f"send{_DEAD_LETTER}"], messages[_DEAD_LETTER] = (
        _dead_letters()
    )
    schemas = json_schema.definitions(
        [event.message for event in contract.EVENT_TYPES], _SCHEMAS, comments
    )
    found: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "SIM-PIPE events",
            "version": contract.VERSION,
            "description": _description(),
        },
    }
    if server_url:
        found["servers"] = _servers(server_url)
    found["channels"] = channels
    found["operations"] = operations
    found["components"] = {"messages": messages, "schemas": schemas}
    return found


def _event(
    event: contract.EventType, description: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An event's channel, its operation and its message."""
    described = {"description": description} if description else {}
    channel = {
        "address": event.template,
        "title": event.name,
        **described,
        "parameters": {p: {"description": _PARAMETERS[p]} for p in event.placeholders},
        "messages": {event.name: {"$ref": f"#/components/messages/{event.name}"}},
    }
    operation = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{event.name}"},
        "messages": [{"$ref": f"#/channels/{event.name}/messages/{event.name}"}],
        "summary": f"{event.publisher} publishes {event.name}.",
        "tags": [{"name": event.publisher}],
    }
    content_type = codec.content_type(event.message())
    message = {
        "name": event.name,
        "title": event.name,
        **described,
        "contentType": content_type,
        "headers": _event_headers(content_type),
        "payload": {
            "schemaFormat": json_schema.SCHEMA_FORMAT,
            "schema": {"$ref": _SCHEMAS + event.full_name},
        },
    }
    return channel, operation, message


def _event_headers(content_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            contract.MSG_ID_HEADER: {
                "type": "string",
                "description": (
                    "The event id (`meta.eventId`): unique per event, the same on every"
                    " delivery. JetStream drops a repeat within the stream's duplicate"
                    " window; consumers drop repeats by it."
                ),
            },
            contract.TRACEPARENT_HEADER: {
                "type": "string",
                "description": (
                    "W3C trace context of the operation that caused the event"
                    " (`meta.traceParent`), when there is one."
                ),
            },
            _CONTENT_TYPE_HEADER: {"type": "string", "const": content_type},
        },
        "required": [contract.MSG_ID_HEADER],
    }


def _dead_letters() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The dead-letter channel, its operation and its message."""
    address = dead_letters.DEAD_LETTER_ROOT + ".{consumer}"
    channel = {
        "address": address,
        "title": "Dead letters",
        "description": (
            "What a SIM-PIPE consumer received on an event subject and could not read as the"
            " contract's event of that subject: parked here once, instead of redelivered."
            " No owner's filter matches these subjects."
        ),
        "parameters": {"consumer": {"description": "The consumer (service) that parked it."}},
        "messages": {_DEAD_LETTER: {"$ref": f"#/components/messages/{_DEAD_LETTER}"}},
    }
    operation = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{_DEAD_LETTER}"},
        "messages": [{"$ref": f"#/channels/{_DEAD_LETTER}/messages/{_DEAD_LETTER}"}],
        "summary": "Every SIM-PIPE consumer parks what it cannot read.",
    }
    message = {
        "name": _DEAD_LETTER,
        "title": "Dead letter",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                contract.MSG_ID_HEADER: {
                    "type": "string",
                    "description": "The same for every delivery of the same message to a consumer.",
                },
                dead_letters.ORIGINAL_SUBJECT_HEADER: {
                    "type": "string",
                    "description": "The subject the message came on.",
                },
                dead_letters.REASON_HEADER: {
                    "type": "string",
                    "description": "Why it could not be read.",
                },
            },
            "required": [
                contract.MSG_ID_HEADER,
                dead_letters.ORIGINAL_SUBJECT_HEADER,
                dead_letters.REASON_HEADER,
            ],
        },
        "payload": {
            "schemaFormat": json_schema.SCHEMA_FORMAT,
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "The body as it came, any bytes.",
            },
        },
    }
    return channel, operation, message


def _description() -> str:
    example = "alice@example.org"
    owner = contract.owner_token(example)
    run_phases, node_phases = (
        ", ".join(enum.values_by_number[p].name for p in sorted(terminal))
        for enum, terminal in (
            (events_pb2.DryRunPhase.DESCRIPTOR, contract.TERMINAL_RUN_PHASES),
            (events_pb2.NodePhase.DESCRIPTOR, contract.TERMINAL_NODE_PHASES),
        )
    )
    return "\n\n".join(
        [
            "SIM-PIPE's services publish these events to the NATS JetStream stream"
            f" `{stream.STREAM}` (subjects {', '.join(f'`{s}`' for s in stream.SUBJECTS)}),"
            " generated from proto/simpipe/v1/events.proto. Within v1 fields are only added.",
            "**Subjects** name the owner and the entity:"
            f" `{contract.ROOT}.{{owner}}.<entity>...`, one token per `{{placeholder}}` of a"
            " channel's address, each filled from the event's field of that meaning (see the"
            " channel's parameters). Tokens never hold '.', '*', '>' or whitespace.",
            "**Owner token**: `{owner}` is not the owner's name (user names and OIDC subjects"
            " hold '.', '@' and ':') but the first 32 hex digits of the SHA-256 of its UTF-8"
            " bytes, `hashlib.sha256(owner.encode()).hexdigest()[:32]` in Python:"
            f" `{example}` is `{owner}`.",
            "**One owner's events**: subscribe to"
            f" `{contract.ROOT}.<owner token>.>`, e.g. `{contract.owner_filter(example)}`; one"
            f" run's: `{contract.run_filter(example, 'my-run')}`. A filter that names an owner"
            " matches no other owner's subject.",
            "**Payloads** are protobuf on the wire, the binary encoding of the message the"
            f" subject names, also named in the `{_CONTENT_TYPE_HEADER}` header"
            f" (`{contract.CONTENT_TYPE_PREFIX}<full name>`). The payload schemas here are JSON"
            f" Schema ({json_schema.SCHEMA_FORMAT}) of the same messages in the canonical"
            " proto3 JSON mapping (lowerCamelCase names, enums by value name, 64-bit integers"
            " as strings, timestamps in RFC 3339, default values left out): what protobuf's"
            " JSON printers (Python's `MessageToDict`) make of the decoded event.",
            f"**Headers**: `{contract.MSG_ID_HEADER}` is the event id, unique per event and the"
            " same on every delivery, so repeats can be dropped;"
            f" `{contract.TRACEPARENT_HEADER}` carries the W3C trace context when there is one.",
            f"**Terminal phases**: a run's {run_phases}; a step's {node_phases}.",
        ]
    )


def _servers(server_url: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for index, url in enumerate(u.strip() for u in server_url.split(",")):
        parts = urlsplit(url)
        # A public document: the user and password a URL may hold stay out.
        host = parts.netloc.rpartition("@")[2]
        if parts.scheme not in _PROTOCOLS or not host:
            raise ValueError(f"{url!r} is not a NATS URL (nats://host:port)")
        server = {"host": host, "protocol": _PROTOCOLS[parts.scheme]}
        if parts.scheme in ("tls", "wss"):
            server["description"] = "TLS"
        found["nats" if index == 0 else f"nats-{index + 1}"] = server
    return found
