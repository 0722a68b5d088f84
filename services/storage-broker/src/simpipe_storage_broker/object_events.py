"""The broker's object events, published beside the command that caused them:
the command does not wait for JetStream's fsync, and each event is retried in
the background until the stream has it (EventPublisher.publish_soon)."""

import hashlib
import uuid
from dataclasses import dataclass

from simpipe.v1 import events_pb2
from simpipe_events import contract
from simpipe_events.publisher import EventPublisher

SOURCE = "storage-broker"


def _key_digest(owner: str, key: str) -> str:
    # Keys run to 1 KiB and any characters: the id carries a digest instead.
    # Owners' keys in a shared bucket may be the same: the owner is in it.
    return hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()[:32]


# How long an answer waits for its event to be stored: a broker killed after
# answering has then lost nothing; beyond it, the event is retried behind
# the answer rather than failing a change S3 has made.
PUBLISH_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class ObjectEvents:
    publisher: EventPublisher

    async def created(self, bucket: str, key: str, size: int, etag: str, caller: str) -> None:
        # One per object version: a repeated completion of the same upload is dropped.
        event_id = f"created:{bucket}:{_key_digest(caller, key)}:{etag}"
        await self.publisher.publish_or_retry(
            events_pb2.ObjectCreated(
                meta=contract.meta(event_id, SOURCE),
                bucket=bucket,
                key=key,
                size=size,
                etag=etag,
                caller=caller,
                # Callers change only what is theirs (ownership): the owner.
                owner=caller,
            ),
            PUBLISH_WAIT_SECONDS,
        )

    async def deleted(self, bucket: str, key: str, caller: str) -> None:
        # Deleting twice is two events: S3 keeps no version to tell them apart.
        event_id = f"deleted:{bucket}:{_key_digest(caller, key)}:{uuid.uuid4().hex}"
        await self.publisher.publish_or_retry(
            events_pb2.ObjectDeleted(
                meta=contract.meta(event_id, SOURCE),
                bucket=bucket,
                key=key,
                caller=caller,
                # Callers change only what is theirs (ownership): the owner.
                owner=caller,
            ),
            PUBLISH_WAIT_SECONDS,
        )
