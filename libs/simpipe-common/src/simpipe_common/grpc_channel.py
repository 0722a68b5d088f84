"""A service's gRPC channel to another service: mutual TLS with its own
certificate, and message limits set on purpose. Every call on it still
needs its own deadline (`timeout=`): a channel has none to give."""

from typing import Any

import grpc

from simpipe_common.mesh_tls import mesh_tls
from simpipe_common.settings import ServiceSettings


def channel_options(settings: ServiceSettings) -> list[tuple[str, Any]]:
    """What a caller sends at most (its requests) and accepts (the answers)."""
    return [
        ("grpc.max_send_message_length", settings.grpc_max_request_bytes),
        ("grpc.max_receive_message_length", settings.grpc_max_answer_bytes),
    ]


def mesh_channel(address: str, settings: ServiceSettings) -> grpc.aio.Channel:
    """An aio channel to `address` (host:port) that presents this service's
    certificate and trusts only a server the mesh's CA signed, for an address
    its certificate names. Plaintext when the mesh runs insecure (tests).
    Made within the event loop that uses it."""
    tls = mesh_tls(settings)
    if tls is None:
        return grpc.aio.insecure_channel(address, options=channel_options(settings))
    return grpc.aio.secure_channel(
        address, tls.channel_credentials(), options=channel_options(settings)
    )
