"""The NATS permissions derived from the contract: each service publishes
its own events only, reads only what it consumes, and leaves the
deployment's durable consumers alone."""

import pytest

from simpipe.v1 import events_pb2
from simpipe_events import contract, permissions, stream
from simpipe_events.dead_letters import dead_letter_subject
from simpipe_events.permissions import Permissions

SERVICES = (
    "workflow-submitter",
    "argo-watcher",
    "metrics-collector",
    "storage-broker",
    "kwok-scaler",
    "gateway",
)
DURABLE = stream.REPORTS.name


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` one or more at the end."""
    wanted, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(wanted) == len(got)


def may_publish(rights: Permissions, subject: str) -> bool:
    return any(matches(p, subject) for p in rights.publish) and not any(
        matches(p, subject) for p in rights.deny_publish
    )


def may_subscribe(rights: Permissions, subject: str) -> bool:
    return any(matches(p, subject) for p in rights.subscribe)


EXAMPLES = {
    events_pb2.DryRunSubmitted: {"owner": "alice", "project": "p", "run": "r"},
    events_pb2.DryRunPhaseChanged: {"owner": "alice", "project": "p", "run": "r"},
    events_pb2.StepPhaseChanged: {"owner": "alice", "project": "p", "run": "r", "node": "n"},
    events_pb2.MetricsReady: {"owner": "alice", "project": "p", "run": "r"},
    events_pb2.ObjectCreated: {"owner": "alice", "bucket": "b"},
    events_pb2.ObjectDeleted: {"owner": "alice", "bucket": "b"},
    events_pb2.SimulationProgressed: {"owner": "alice", "project": "p", "simulation": "s"},
    events_pb2.SimulationEnded: {"owner": "alice", "project": "p", "simulation": "s"},
}


def test_every_event_has_an_example() -> None:
    assert {e.message for e in contract.EVENT_TYPES} == set(EXAMPLES)


@pytest.mark.parametrize("event", contract.EVENT_TYPES, ids=lambda e: e.name)
def test_only_its_publisher_publishes_an_event_and_reads_it_back(
    event: contract.EventType,
) -> None:
    subject = event.subject(**EXAMPLES[event.message])
    direct_get = f"$JS.API.DIRECT.GET.{stream.STREAM}.{subject}"
    publishers = {s for s in SERVICES if may_publish(permissions.service_permissions(s), subject)}
    readers_back = {
        s for s in SERVICES if may_publish(permissions.service_permissions(s), direct_get)
    }
    assert publishers == readers_back == {event.publisher}
    assert not may_publish(permissions.reader_permissions(), subject)


def test_a_service_parks_only_its_own_dead_letters() -> None:
    for service in SERVICES:
        rights = permissions.service_permissions(service)
        assert may_publish(rights, dead_letter_subject(service))
        others = [s for s in SERVICES if s != service]
        assert not any(may_publish(rights, dead_letter_subject(o)) for o in others)


def test_only_the_gateway_reads_run_events_live_and_nobody_object_events() -> None:
    run_phase = contract.event_type(events_pb2.DryRunPhaseChanged).subject(
        **EXAMPLES[events_pb2.DryRunPhaseChanged]
    )
    created = contract.event_type(events_pb2.ObjectCreated).subject(
        **EXAMPLES[events_pb2.ObjectCreated]
    )
    readers = {s for s in SERVICES if may_subscribe(permissions.service_permissions(s), run_phase)}
    assert readers == {"gateway"}
    assert not any(may_subscribe(permissions.service_permissions(s), created) for s in SERVICES)


def test_each_service_reads_its_own_inboxes_only() -> None:
    for service in SERVICES:
        rights = permissions.service_permissions(service)
        assert may_subscribe(rights, f"_INBOX.{service}.x1")
        assert not may_subscribe(rights, "_INBOX.x1")
        assert not any(may_subscribe(rights, f"_INBOX.{o}.x1") for o in SERVICES if o != service)


def test_only_the_collector_fetches_from_and_acknowledges_its_durable_consumer() -> None:
    fetch = f"$JS.API.CONSUMER.MSG.NEXT.{stream.STREAM}.{DURABLE}"
    ack = f"$JS.ACK.{stream.STREAM}.{DURABLE}.1.5.5.1700000000.0"
    for service in SERVICES:
        rights = permissions.service_permissions(service)
        expected = service == "metrics-collector"
        assert (may_publish(rights, fetch), may_publish(rights, ack)) == (expected, expected)
    reader = permissions.reader_permissions()
    assert not may_publish(reader, fetch)
    assert not may_publish(reader, ack)


@pytest.mark.parametrize(
    "request_subject",
    [
        f"$JS.API.CONSUMER.CREATE.{stream.STREAM}.{DURABLE}",
        f"$JS.API.CONSUMER.CREATE.{stream.STREAM}.{DURABLE}.simpipe.v1.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream.STREAM}.{DURABLE}",
        f"$JS.API.CONSUMER.DELETE.{stream.STREAM}.{DURABLE}",
    ],
)
def test_consumers_of_one_s_own_do_not_reach_the_deployment_s(request_subject: str) -> None:
    for rights in (permissions.service_permissions("gateway"), permissions.reader_permissions()):
        assert not may_publish(rights, request_subject)


def test_the_gateway_and_tools_make_consumers_of_their_own() -> None:
    gateway, reader = permissions.service_permissions("gateway"), permissions.reader_permissions()
    # nats-py's ordered consumers are made without a name: the gateway's.
    assert may_publish(gateway, f"$JS.API.CONSUMER.CREATE.{stream.STREAM}")
    assert may_publish(gateway, f"$JS.FC.{stream.STREAM}.abc.1")
    # Tools name theirs (nats.go, the nats CLI): a nameless create could
    # update the deployment's durable consumer.
    assert not may_publish(reader, f"$JS.API.CONSUMER.CREATE.{stream.STREAM}")
    assert may_publish(reader, f"$JS.API.CONSUMER.CREATE.{stream.STREAM}.mine.simpipe.v1.>")
    assert may_subscribe(reader, "simpipe.v1.deadletter.gateway")
    for service in SERVICES:
        if service != "gateway":
            rights = permissions.service_permissions(service)
            assert not may_publish(rights, f"$JS.API.CONSUMER.CREATE.{stream.STREAM}")


def test_only_the_provisioner_manages_the_stream() -> None:
    create = f"$JS.API.STREAM.CREATE.{stream.STREAM}"
    assert may_publish(permissions.provisioner_permissions(), create)
    assert not any(may_publish(permissions.service_permissions(s), create) for s in SERVICES)
    assert not may_publish(permissions.reader_permissions(), create)


def test_the_config_is_nats_server_s_permissions_block() -> None:
    rights = Permissions(publish=("a.>",), subscribe=("b",), deny_publish=("a.x",))
    assert rights.config() == {
        "publish": {"allow": ["a.>"], "deny": ["a.x"]},
        "subscribe": {"allow": ["b"]},
    }
    assert "deny" not in Permissions(publish=("a",), subscribe=()).config()["publish"]
