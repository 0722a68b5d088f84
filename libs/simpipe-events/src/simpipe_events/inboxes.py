"""Each NATS user's replies come to inboxes of its own: `_INBOX.<user>.…`.
The server lets a user subscribe to its own inboxes only (permissions), so
no user reads another's JetStream deliveries or API answers."""

from typing import Final

from simpipe_events import contract

INBOXES: Final = "_INBOX"


def inbox_prefix(user: str) -> str:
    """The inbox prefix a user's connection must use (nats-py's `inbox_prefix`)."""
    return f"{INBOXES}.{contract.token(user)}"
