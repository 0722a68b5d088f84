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


def _key_digest(key: str) -> str:
    # Keys run to 1 KiB and any characters: the id carries a digest instead.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ObjectEvents:
    publisher: EventPublisher

    def created(self, bucket: str, key: str, size: int, etag: str, caller: str) -> None:
        # One per object version: a repeated completion of the same upload is dropped.
        event_id = f"created:{bucket}:{_key_digest(key)}:{etag}"
        self.publisher.publish_soon(
            events_pb2.ObjectCreated(
                meta=contract.meta(event_id, SOURCE),
                bucket=bucket,
                key=key,
                size=size,
                etag=etag,
                caller=caller,
                owner=_owner(caller),
            )
        )

    def deleted(self, bucket: str, key: str, caller: str) -> None:
        # Deleting twice is two events: S3 keeps no version to tell them apart.
        event_id = f"deleted:{bucket}:{_key_digest(key)}:{uuid.uuid4().hex}"
        self.publisher.publish_soon(
            events_pb2.ObjectDeleted(
                meta=contract.meta(event_id, SOURCE),
                bucket=bucket,
                key=key,
                caller=caller,
                owner=_owner(caller),
            )
        )


def _owner(caller: str) -> str:
    """Whose storage an object is in. Buckets are shared for now, so the
    events go to the caller who caused them; with storage per owner, the
    bucket's owner."""
    return caller
