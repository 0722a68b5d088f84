"""What the gateway's custom scalars share."""

from typing import Any


def as_is(value: Any) -> Any:
    """A scalar's value as JSON already has it."""
    return value
