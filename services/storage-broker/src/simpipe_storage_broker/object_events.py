"""The broker's object events on JetStream, published beside the command
that caused them (see simpipe_common.publisher)."""

import hashlib
import uuid
from dataclasses import dataclass

from simpipe.v1 import events_pb2
from simpipe_common import events
from simpipe_common.publisher import Publisher

SOURCE = "storage-broker"


def _key_digest(key: str) -> str:
    # Keys run to 1 KiB and any characters: the id carries a digest instead.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ObjectEvents:
    publisher: Publisher

    def created(self, bucket: str, key: str, size: int, etag: str, caller: str) -> None:
        # One per object version: a repeated completion of the same upload is dropped.
        event_id = f"created:{bucket}:{_key_digest(key)}:{etag}"
        self.publisher.publish_soon(
            events.object_subject(bucket, "created"),
            events_pb2.ObjectCreated(
                meta=events.event_meta(event_id, SOURCE),
                bucket=bucket,
                key=key,
                size=size,
                etag=etag,
                caller=caller,
            ),
        )

    def deleted(self, bucket: str, key: str, caller: str) -> None:
        # Deleting twice is two events: S3 keeps no version to tell them apart.
        event_id = f"deleted:{bucket}:{_key_digest(key)}:{uuid.uuid4().hex}"
        self.publisher.publish_soon(
            events.object_subject(bucket, "deleted"),
            events_pb2.ObjectDeleted(
                meta=events.event_meta(event_id, SOURCE), bucket=bucket, key=key, caller=caller
            ),
        )
