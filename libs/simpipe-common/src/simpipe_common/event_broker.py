"""A service's connection to the event mesh: a FastStream NatsBroker with the
contract's protobuf codec, the publisher of its events, and the start-up
order every service follows (connect, check the stream and the durable
consumers it relies on, start its subscribers; on shutdown stop them and
give its unacknowledged events a moment)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from faststream.nats import JStream, NatsBroker
from google.protobuf.message import Message
from prometheus_client import Counter

from simpipe_common.errors import StartupError
from simpipe_common.settings import ServiceSettings
from simpipe_events import stream
from simpipe_events.codec import ProtobufCodec
from simpipe_events.publisher import EventPublisher

log = structlog.get_logger(__name__)

PUBLISH_RETRIES = Counter(
    "simpipe_events_publish_retries_total",
    "Events NATS did not acknowledge at a try (each is tried again until it does)",
)

# Subscribers name the stream without declaring it: the deployment owns it.
EVENTS_STREAM = JStream(stream.STREAM, declare=False)


class EventBroker:
    def __init__(
        self,
        settings: ServiceSettings,
        name: str,
        consumers: tuple[stream.DurableConsumer, ...] = (),
    ) -> None:
        self.settings = settings
        self.consumers = consumers
        self.broker = NatsBroker(
            settings.nats_url,
            name=name,
            codec=ProtobufCodec(),
            # Its per-message "Received"/"Processed" lines at debug; failures
            # still at error, through the service's JSON logs.
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            connect_timeout=max(1, round(settings.check_timeout_seconds)),
            graceful_timeout=settings.shutdown_grace_seconds,
            error_cb=self._nats_error,
        )
        self.publisher = EventPublisher(self.broker, on_retry=self._retrying)

    async def _nats_error(self, error: Exception) -> None:
        # nats-py's own callback prints a traceback for every failed reconnect.
        log.warning("NATS connection problem", url=self.settings.nats_url, error=repr(error))

    @staticmethod
    def _retrying(event: Message, error: Exception) -> None:
        PUBLISH_RETRIES.inc()
        log.warning(
            "event not acknowledged yet; trying again",
            event=type(event).__name__,
            event_id=event.meta.event_id,  # type: ignore[attr-defined]
            error=repr(error),
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[NatsBroker]:
        """Connected, checked and consuming; StartupError with what to do when
        NATS cannot be reached or the stream is not as declared."""
        await self._connect()
        try:
            try:
                await stream.check(self.broker.connection.jetstream(), self.consumers)
            except stream.StreamProblemError as error:
                raise StartupError(f"NATS at {self.settings.nats_url}: {error}") from None
            await self.broker.start()
            yield self.broker
        finally:
            left = await self.publisher.drain(self.settings.shutdown_grace_seconds)
            if left:
                log.error("events not published before shutdown", count=left)
            await self.broker.stop()

    async def _connect(self) -> None:
        """NATS may start after the service (a cluster starts pods in any
        order): the client keeps trying for `nats_startup_seconds`."""
        try:
            await asyncio.wait_for(self.broker.connect(), self.settings.nats_startup_seconds)
        except Exception as error:  # unreachable, refused, TLS: said once, plainly
            raise StartupError(
                f"NATS at {self.settings.nats_url} did not answer within"
                f" {self.settings.nats_startup_seconds:g} s ({type(error).__name__})"
            ) from None
