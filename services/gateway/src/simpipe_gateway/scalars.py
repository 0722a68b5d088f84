"""What the gateway's custom scalars and types share."""

from datetime import UTC
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp


def as_is(value: Any) -> Any:
    """A scalar's value as JSON already has it."""
    return value


def iso(ts: Timestamp) -> str | None:
    """A protobuf time as ISO 8601 UTC text ("...Z"); None when it is unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")
