"""Messages a consumer cannot read are parked at once on a dead-letter
subject, not redelivered: `simpipe.v1.deadletter.<consumer>`, the body as it
came, the subject it came on and the reason in headers. `deadletter` is never
an owner token (those are 32 hex digits), so no owner's filter matches it.
"""

import hashlib
from typing import Final

from faststream import ExceptionMiddleware
from faststream.nats.annotations import NatsBroker, NatsMessage

from simpipe_events import contract
from simpipe_events.stream import STREAM

ORIGINAL_SUBJECT_HEADER: Final = "Simpipe-Original-Subject"
REASON_HEADER: Final = "Simpipe-Dead-Letter-Reason"


DEAD_LETTER_ROOT: Final = f"{contract.ROOT}.deadletter"


def dead_letter_subject(consumer: str) -> str:
    return f"{DEAD_LETTER_ROOT}.{contract.token(consumer)}"


def dead_letters(consumer: str) -> ExceptionMiddleware:
    """A FastStream middleware (the subscriber's or broker's `middlewares=`)
    that parks what the contract cannot decode."""
    subject = dead_letter_subject(consumer)

    async def park(
        error: contract.UndecodableEventError, message: NatsMessage, broker: NatsBroker
    ) -> None:
        raw = message.raw_message
        # One dead letter per message, however often it comes.
        digest = hashlib.sha256(raw.subject.encode() + b"\0" + message.body).hexdigest()[:32]
        await broker.publish(
            message.body,
            subject,
            headers={
                contract.MSG_ID_HEADER: f"dead:{consumer}:{digest}",
                ORIGINAL_SUBJECT_HEADER: raw.subject[:1024],
                REASON_HEADER: str(error)[:1024],
            },
            stream=STREAM,
        )
        if raw.reply:  # a JetStream delivery: never redeliver it
            await message.reject()

    return ExceptionMiddleware({contract.UndecodableEventError: park})
