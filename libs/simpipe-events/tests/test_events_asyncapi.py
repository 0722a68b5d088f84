"""The AsyncAPI document: every event of the contract where its subjects are,
every reference resolving, no credentials in it, and the committed copy
(proto/simpipe/v1/events.asyncapi.json) what the code makes now."""

import json
import re
from pathlib import Path
from typing import Any, Final

import pytest

from simpipe_events import asyncapi, contract, dead_letters, json_schema

COMMITTED: Final = Path(__file__).parents[3] / "proto" / "simpipe" / "v1" / "events.asyncapi.json"
# AsyncAPI 3.0's pattern for the keys of channels, operations and components.
KEY: Final = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi.document()


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local reference (`#/a/b`) of the document, as a JSON pointer."""
    assert ref.startswith("#/"), ref
    found: Any = document
    for part in ref[2:].split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    return found


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def test_the_committed_document_is_the_generated_one(document: dict[str, Any]) -> None:
    assert json_schema.load_comments(), "no descriptor set with source info: run `make protos`"
    assert COMMITTED.exists(), "run `make asyncapi`"
    assert json.loads(COMMITTED.read_text()) == document, (
        f"{COMMITTED.name} is not what events.proto makes now: run `make asyncapi`"
    )


def test_it_is_an_asyncapi_3_document(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["version"] == contract.VERSION
    assert document["info"]["title"]
    assert "servers" not in document
    for section in ("channels", "operations"):
        assert all(KEY.match(key) for key in document[section])
    for section in ("messages", "schemas"):
        assert all(KEY.match(key) for key in document["components"][section])


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    found = references(document)
    assert len(found) > 3 * len(contract.EVENT_TYPES)
    for ref in found:
        assert resolve(document, ref) is not None, ref


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=lambda e: e.name)
def test_every_event_has_a_channel_at_its_subject(
    document: dict[str, Any], event: contract.EventType
) -> None:
    (channel,) = [c for c in document["channels"].values() if c["address"] == event.template]
    assert set(channel["parameters"]) == set(event.placeholders)
    assert all(p["description"] for p in channel["parameters"].values())
    (message,) = channel["messages"].values()
    message = resolve(document, message["$ref"])
    assert message["contentType"] == contract.CONTENT_TYPE_PREFIX + event.full_name
    assert message["payload"]["schemaFormat"] == json_schema.SCHEMA_FORMAT
    schema = resolve(document, message["payload"]["schema"]["$ref"])
    assert schema["title"] == event.name
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {f.json_name for f in event.message.DESCRIPTOR.fields}
    assert contract.MSG_ID_HEADER in message["headers"]["required"]


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=lambda e: e.name)
def test_the_publisher_sends_each_event(
    document: dict[str, Any], event: contract.EventType
) -> None:
    (operation,) = [
        o
        for o in document["operations"].values()
        if resolve(document, o["channel"]["$ref"])["address"] == event.template
    ]
    assert operation["action"] == "send"
    assert event.publisher in operation["summary"]
    assert operation["tags"] == [{"name": event.publisher}]
    # An operation's messages are its channel's.
    channel_ref = operation["channel"]["$ref"]
    assert all(m["$ref"].startswith(f"{channel_ref}/messages/") for m in operation["messages"])


def test_the_dead_letters_have_their_channel(document: dict[str, Any]) -> None:
    (channel,) = [c for c in document["channels"].values() if "{consumer}" in c["address"]]
    address = channel["address"].replace("{consumer}", "metrics-collector")
    assert address == dead_letters.dead_letter_subject("metrics-collector")
    (message,) = channel["messages"].values()
    headers = resolve(document, message["$ref"])["headers"]
    assert set(headers["required"]) == {
        contract.MSG_ID_HEADER,
        dead_letters.ORIGINAL_SUBJECT_HEADER,
        dead_letters.REASON_HEADER,
    }


def test_the_description_tells_how_to_subscribe_to_one_owner(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    assert contract.owner_filter("alice@example.org") in description
    assert f"{contract.ROOT}.<owner token>.>" in description
    assert contract.MSG_ID_HEADER in description
    assert contract.TRACEPARENT_HEADER in description
    assert contract.CONTENT_TYPE_PREFIX in description


def test_servers_name_hosts_without_credentials() -> None:
    servers = asyncapi.document("nats://svc:s3cret@nats.example:4222, tls://[::1]:4443")["servers"]
    assert servers == {
        "nats": {"host": "nats.example:4222", "protocol": "nats"},
        "nats-2": {"host": "[::1]:4443", "protocol": "nats", "description": "TLS"},
    }
    assert "s3cret" not in json.dumps(servers)


@pytest.mark.parametrize("url", ["nats.example:4222", "http://nats.example", "nats://"])
def test_a_server_that_is_no_nats_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not a NATS URL"):
        asyncapi.document(url)
