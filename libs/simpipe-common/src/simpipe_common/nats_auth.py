"""A service's NATS user, as nats-py takes it (event_broker hands it to
FastStream). The server lets the user subscribe to its own inboxes only
(simpipe_events.inboxes), so its connection uses their prefix."""

from typing import Any

from simpipe_common.errors import StartupError
from simpipe_common.settings import ServiceSettings
from simpipe_events.inboxes import inbox_prefix


def check_nats_user(settings: ServiceSettings) -> None:
    """StartupError unless the service has a NATS user (or runs insecure, for tests)."""
    if not settings.mesh_insecure and not (
        settings.nats_user and settings.nats_password.get_secret_value()
    ):
        raise StartupError(
            "NATS needs this service's user: set SIMPIPE_NATS_USER and SIMPIPE_NATS_PASSWORD"
            " (SIMPIPE_MESH_INSECURE=true turns this off, for tests only)"
        )


def connect_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments of nats.connect: the user, its password and its inbox prefix."""
    if not settings.nats_user:
        return {}
    return {
        "user": settings.nats_user,
        "password": settings.nats_password.get_secret_value(),
        "inbox_prefix": inbox_prefix(settings.nats_user),
    }
