"""A service's NATS user, as its connections present it."""

import pytest
from pydantic import SecretStr

from simpipe_common.errors import StartupError
from simpipe_common.nats_auth import check_nats_user, connect_options
from simpipe_common.settings import ServiceSettings


def test_a_service_without_a_nats_user_does_not_start() -> None:
    with pytest.raises(StartupError, match="SIMPIPE_NATS_USER and SIMPIPE_NATS_PASSWORD"):
        check_nats_user(ServiceSettings(nats_user="gateway"))
    check_nats_user(ServiceSettings(mesh_insecure=True))  # tests only


def test_its_connections_use_its_user_and_its_own_inboxes() -> None:
    settings = ServiceSettings(nats_user="metrics-collector", nats_password=SecretStr("pw"))
    check_nats_user(settings)
    assert connect_options(settings) == {
        "user": "metrics-collector",
        "password": "pw",
        "inbox_prefix": "_INBOX.metrics-collector",
    }
    assert connect_options(ServiceSettings(mesh_insecure=True)) == {}
