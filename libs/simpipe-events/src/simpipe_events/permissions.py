"""What each NATS user of the mesh may publish and subscribe to, derived
from the contract: a service publishes only the events it is the publisher
of (EventType.publisher), parks only its own dead letters, reads back only
its own last events, and reads only what it consumes. The JetStream API
subjects are the ones nats-py and FastStream send for that, named per
stream and consumer, so no service can read the stream through a consumer
of its own making (but the gateway, which serves every run's events) or
take over another's durable consumer.

Each service's replies come to inboxes of its own (simpipe_events.inboxes).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from simpipe_events import contract
from simpipe_events.dead_letters import dead_letter_subject
from simpipe_events.inboxes import INBOXES, inbox_prefix
from simpipe_events.stream import DURABLE_CONSUMERS, REPORTS, STREAM, SUBJECTS, DurableConsumer

JS_API: Final = "$JS.API"
# The user that creates the stream and its durable consumers (the
# deployment's provisioning: `python -m simpipe_events provision`).
PROVISIONER: Final = "provisioner"
# A user for tools that follow events (the AsyncAPI document's readers).
READER: Final = "reader"


@dataclass(frozen=True)
class Consumption:
    """How a service reads events."""

    # Core NATS subscriptions (live copies, before the stream's fsync).
    core: tuple[str, ...] = ()
    # Ephemeral ordered consumers of its own, each replica with its own.
    ephemeral_consumers: bool = False
    # Durable pull consumers the deployment made for it.
    durables: tuple[DurableConsumer, ...] = ()


# Who reads what. Every gateway replica takes every run event (its
# subscriptions are checked per owner there); the metrics-collector's
# replicas share the run phases through their durable consumer.
CONSUMERS: Final[Mapping[str, Consumption]] = {
    "gateway": Consumption(core=(contract.all_runs_filter(),), ephemeral_consumers=True),
    "metrics-collector": Consumption(durables=(REPORTS,)),
}


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = field(default=())

    def config(self) -> dict[str, Any]:
        """nats-server's `permissions` of a user (its config reads JSON)."""
        publish: dict[str, list[str]] = {"allow": list(self.publish)}
        if self.deny_publish:
            publish["deny"] = list(self.deny_publish)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}


def _published(service: str) -> tuple[str, ...]:
    return tuple(e.filter() for e in contract.EVENT_TYPES if e.publisher == service)


def _durable_rights(durable: DurableConsumer) -> tuple[str, ...]:
    name = durable.name
    return (
        f"{JS_API}.CONSUMER.INFO.{STREAM}.{name}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{STREAM}.{name}",
        f"$JS.ACK.{STREAM}.{name}.>",
    )


def _consumers_of_its_own(named_only: bool) -> tuple[str, ...]:
    """Consumers a user makes and reads itself: deleted by their names, flow
    control answered, deliveries acknowledged (FastStream acknowledges even
    an ordered consumer's). nats-py makes ordered consumers without a name
    (`CONSUMER.CREATE.<stream>`), a request NATS cannot tell from an update
    of a named consumer: only the gateway, which needs it, may send it."""
    create: tuple[str, ...] = (f"{JS_API}.CONSUMER.CREATE.{STREAM}.>",)
    if not named_only:
        create += (f"{JS_API}.CONSUMER.CREATE.{STREAM}",)
    return (
        *create,
        f"{JS_API}.CONSUMER.DELETE.{STREAM}.*",
        f"{JS_API}.CONSUMER.INFO.{STREAM}.*",
        f"{JS_API}.CONSUMER.MSG.NEXT.{STREAM}.*",
        f"$JS.FC.{STREAM}.>",
        f"$JS.ACK.{STREAM}.>",
    )


def _others_durables(own: tuple[DurableConsumer, ...] = ()) -> tuple[str, ...]:
    """What a user allowed consumers of its own must still not do to the
    deployment's durable consumers: change, delete, fetch from or ack them."""
    denied: list[str] = [f"{JS_API}.CONSUMER.DURABLE.CREATE.{STREAM}.*"]
    for durable in DURABLE_CONSUMERS:
        if durable in own:
            continue
        name = durable.name
        denied += [
            f"{JS_API}.CONSUMER.CREATE.{STREAM}.{name}",
            f"{JS_API}.CONSUMER.CREATE.{STREAM}.{name}.>",
            f"{JS_API}.CONSUMER.DELETE.{STREAM}.{name}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{STREAM}.{name}",
            f"$JS.ACK.{STREAM}.{name}.>",
        ]
    return tuple(denied)


def service_permissions(service: str) -> Permissions:
    """A service's user: named as the service (EventType.publisher)."""
    published = _published(service)
    reads = CONSUMERS.get(service, Consumption())
    publish = [
        *published,
        # What its consumers cannot decode is parked here (dead_letters).
        dead_letter_subject(service),
        # The start-up check of the stream (stream.check) ...
        f"{JS_API}.STREAM.INFO.{STREAM}",
        # ... and "did I publish this already?" of its own subjects (last_event).
        *(f"{JS_API}.DIRECT.GET.{STREAM}.{subject}" for subject in published),
    ]
    for durable in reads.durables:
        publish += _durable_rights(durable)
    deny: tuple[str, ...] = ()
    if reads.ephemeral_consumers:
        publish += _consumers_of_its_own(named_only=False)
        deny = _others_durables(reads.durables)
    return Permissions(
        publish=tuple(publish),
        subscribe=(f"{inbox_prefix(service)}.>", *reads.core),
        deny_publish=deny,
    )


def provisioner_permissions() -> Permissions:
    """Makes and changes the stream and its durable consumers (the JetStream API)."""
    return Permissions(publish=(f"{JS_API}.>",), subscribe=(f"{INBOXES}.>",))


def reader_permissions() -> Permissions:
    """Follows every event, as the AsyncAPI document describes them, with
    consumers of its own, made with a name (as nats.go, nats.js and the nats
    CLI make them); publishes nothing on the mesh's subjects."""
    return Permissions(
        publish=(
            f"{JS_API}.STREAM.INFO.{STREAM}",
            f"{JS_API}.STREAM.MSG.GET.{STREAM}",
            f"{JS_API}.DIRECT.GET.{STREAM}.>",
            *_consumers_of_its_own(named_only=True),
        ),
        subscribe=(*SUBJECTS, f"{INBOXES}.>"),
        deny_publish=_others_durables(),
    )
