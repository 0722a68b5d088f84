"""A service's connection to the event mesh: a FastStream NatsBroker with the
contract's protobuf codec, the publisher of its events, and the start-up
order every service follows: connect (in the background: a service serves
while NATS is away), check the stream and the durable consumers it relies
on (the deployment owns them: one that is missing or not as declared stops
the service with a message saying so), start its subscribers; on shutdown
stop them and give its unacknowledged events a moment."""

import asyncio
import contextlib
import logging
import math
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats.errors
import structlog
from faststream.nats import JStream, NatsBroker, NatsUserPassword
from google.protobuf.message import Message
from nats.aio.client import DEFAULT_INBOX_PREFIX
from nats.js import api as js_api
from prometheus_client import Counter, Gauge

from simpipe_common.checks import CheckResult
from simpipe_common.errors import StartupError
from simpipe_common.memory import release_free_memory
from simpipe_common.nats_auth import check_nats_user, connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_events import stream
from simpipe_events.codec import ProtobufCodec
from simpipe_events.dead_letters import dead_letters
from simpipe_events.publisher import EventPublisher

log = structlog.get_logger(__name__)

PUBLISH_RETRIES = Counter(
    "simpipe_events_publish_retries_total",
    "Events NATS did not acknowledge at a try (each is tried again until it does)",
)

# Each durable consumer's backlog: events not yet delivered (the lag) and
# delivered but not yet acknowledged (in hand).
CONSUMER_PENDING = Gauge(
    "simpipe_events_consumer_pending",
    "Events of the stream a durable consumer has not delivered yet (its lag)",
    ["consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "simpipe_events_consumer_ack_pending",
    "Events a durable consumer delivered that are not acknowledged yet",
    ["consumer"],
)
BACKLOG_INTERVAL_SECONDS = 5.0
PUBLISH_DROPPED = Counter(
    "simpipe_events_publish_dropped_total",
    "Events dropped because too many waited for NATS (alert on any)",
)

WARN_EVERY_SECONDS = 30.0

# Subscribers name the stream without declaring it: the deployment owns it.
EVENTS_STREAM = JStream(stream.STREAM, declare=False)
# FastStream's pull subscribers take their inbox prefix of their own
# (`subscriber(inbox_prefix=)`), nats-py's default unless told.
PULL_INBOX_PREFIX = js_api.INBOX_PREFIX


class EventBroker:
    def __init__(
        self,
        settings: ServiceSettings,
        name: str,
        consumers: tuple[stream.DurableConsumer, ...] = (),
        on_fatal: Callable[[], None] = lambda: signal.raise_signal(signal.SIGTERM),
    ) -> None:
        self.settings = settings
        # What stops the service when the stream is not usable: SIGTERM, so
        # the runner shuts down in order (a test passes its own).
        self.on_fatal = on_fatal
        self.consumers = consumers
        # Times the connection may have lost core-NATS messages (a disconnect,
        # a slow-consumer drop): JetStream consumers catch up, core
        # subscribers cannot, so those compare it before trusting core.
        self.interruptions = 0
        # Set once connected, checked and consuming.
        self.started = asyncio.Event()
        # Why the service must stop (the stream is not as declared).
        self.fatal = ""
        self._last_warned = -math.inf
        credentials = connect_options(settings)
        # The prefix of the inboxes its pull subscribers fetch into: the
        # user's own (nats_auth), which its NATS user may read.
        self.pull_inbox_prefix = (
            f"{credentials['inbox_prefix']}.".encode() if credentials else PULL_INBOX_PREFIX
        )
        self.broker = NatsBroker(
            settings.nats_url,
            name=name,
            # The service's own NATS user (its permissions: only its events)
            # and the inboxes that user may read.
            security=NatsUserPassword(credentials["user"], credentials["password"])
            if credentials
            else None,
            inbox_prefix=credentials.get("inbox_prefix", DEFAULT_INBOX_PREFIX),
            codec=ProtobufCodec(),
            # Handlers take the contract's proto types, which are their own
            # schema: no pydantic casting of handler arguments (it also ran
            # every NoCast argument through a worker thread, per message).
            serializer=None,
            # Its per-message "Received"/"Processed" lines at debug; failures
            # still at error, through the service's JSON logs.
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            connect_timeout=max(1, round(settings.check_timeout_seconds)),
            graceful_timeout=settings.shutdown_grace_seconds,
            error_cb=self._nats_error,
            disconnected_cb=self._disconnected,
            # Every subscriber of the service parks what it cannot decode on
            # simpipe.v1.deadletter.<service> instead of failing on it.
            middlewares=[dead_letters(name)],
        )
        self.publisher = EventPublisher(
            self.broker, on_retry=self._retrying, on_dropped=self._dropped
        )

    async def _nats_error(self, error: Exception) -> None:
        # nats-py's own callback prints a traceback for every failed try; a
        # line every half minute says as much.
        if isinstance(error, nats.errors.SlowConsumerError):
            self.interruptions += 1
        if time.monotonic() - self._last_warned >= WARN_EVERY_SECONDS:
            self._last_warned = time.monotonic()
            log.warning("NATS connection problem", url=self.settings.nats_url, error=repr(error))

    async def _disconnected(self) -> None:
        self.interruptions += 1

    @staticmethod
    def _retrying(event: Message, error: Exception) -> None:
        PUBLISH_RETRIES.inc()
        log.warning(
            "event not acknowledged yet; trying again",
            event_type=type(event).__name__,
            event_id=event.meta.event_id,  # type: ignore[attr-defined]
            error=repr(error),
        )

    @staticmethod
    def _dropped(event: Message) -> None:
        PUBLISH_DROPPED.inc()
        log.error(
            "event dropped: too many wait for NATS",
            event_type=type(event).__name__,
            event_id=event.meta.event_id,  # type: ignore[attr-defined]
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[NatsBroker]:
        """Connects, checks and starts the subscribers in the background: the
        service serves while NATS is away (its events wait and are retried).
        Once NATS answers, a stream or consumer that is missing or not as
        declared stops the service: StartupError when this context ends.
        Without a NATS user it does not start (StartupError)."""
        check_nats_user(self.settings)
        task = asyncio.create_task(self._connect_and_start())
        try:
            yield self.broker
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            left = await self.publisher.drain(self.settings.shutdown_grace_seconds)
            if left:
                log.error("events not published before shutdown", count=left)
            await self.broker.stop()
        if self.fatal:
            raise StartupError(self.fatal)

    async def _connect_and_start(self) -> None:
        # nats-py keeps trying until it connects (max_reconnect_attempts -1).
        await self.broker.connect()
        try:
            await stream.check(self.broker.connection.jetstream(), self.consumers)
        except stream.StreamProblemError as error:
            self.fatal = f"NATS at {self.settings.nats_url}: {error}"
            log.error("the event stream is not usable; stopping", reason=self.fatal)
            self.on_fatal()
            return
        await self.broker.start()
        # What connecting and starting freed goes back to the OS, as the
        # runner does for what starting the servers freed.
        release_free_memory()
        self.started.set()
        log.info("events connected", url=self.settings.nats_url)
        await self._report_backlog()

    async def _report_backlog(self) -> None:
        """Until stopped: each durable consumer's backlog, for /metrics
        (shared by the service's replicas: each reports the same numbers)."""
        if not self.consumers:
            return
        js = self.broker.connection.jetstream()
        while True:
            for consumer in self.consumers:
                try:
                    info = await js.consumer_info(stream.STREAM, consumer.name)
                except Exception as error:
                    log.debug("consumer backlog not read", consumer=consumer.name, error=str(error))
                    continue
                CONSUMER_PENDING.labels(consumer.name).set(info.num_pending or 0)
                CONSUMER_ACK_PENDING.labels(consumer.name).set(info.num_ack_pending or 0)
            await asyncio.sleep(BACKLOG_INTERVAL_SECONDS)

    async def ready(self) -> CheckResult:
        """For /health: started once (a later NATS outage does not unready it:
        events wait and are retried)."""
        if self.started.is_set():
            return CheckResult("events", ok=True, detail="started")
        return CheckResult("events", ok=False, detail=self.fatal or "connecting to NATS")

    async def check(self) -> CheckResult:
        """For ServiceInfo: whether the service consumes and publishes events."""
        if self.started.is_set():
            return CheckResult("events", ok=True, detail=f"{self.settings.nats_url}: started")
        return CheckResult(
            "events", ok=False, detail=self.fatal or f"{self.settings.nats_url}: connecting"
        )
