"""NATS with JetStream: the services' event mesh. Every connection needs a
user: one per service, allowed its own events only
(simpipe_events.permissions), the stream's provisioning, a read-only user
for tools and one for the tests; passwords in the stack's secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.mesh_users import NATS_USERS, SERVICE_NAMES, TESTS
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import http_ok
from simpipe_events.permissions import (
    PROVISIONER,
    READER,
    Permissions,
    provisioner_permissions,
    reader_permissions,
    service_permissions,
)

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# The tests play every service's part, and make streams of their own.
EVERYTHING = Permissions(publish=(">",), subscribe=(">",))


def permissions_of(user: str) -> Permissions:
    if user in SERVICE_NAMES:
        return service_permissions(user)
    if user == PROVISIONER:
        return provisioner_permissions()
    if user == READER:
        return reader_permissions()
    if user == TESTS:
        return EVERYTHING
    raise ValueError(f"{user!r} is no NATS user of the local stack")


def authorization(stack: Stack) -> dict[str, Any]:
    """nats-server's `authorization` block: every user with its password and permissions."""
    passwords = stack.secrets.nats_passwords
    return {
        "users": [
            {
                "user": user,
                "password": passwords[user],
                "permissions": permissions_of(user).config(),
            }
            for user in NATS_USERS
        ]
    }


def nats_user_env(stack: Stack, user: str) -> dict[str, str]:
    """The settings a service (or `python -m simpipe_events`) reads its NATS user from."""
    return {"SIMPIPE_NATS_USER": user, "SIMPIPE_NATS_PASSWORD": stack.secrets.nats_passwords[user]}


class Nats(ProcessComponent):
    name = "nats"
    port_keys = ("nats", "nats_monitor")
    binaries = ("nats-server",)

    def config_path(self, stack: Stack) -> str:
        return str(stack.layout.generated / "nats.conf")

    def prepare(self, stack: Stack) -> None:
        ports = stack.layout.ports
        store = stack.layout.data / "nats"
        store.mkdir(parents=True, exist_ok=True)
        # sync_interval always: fsync every write before the ack. JetStream's
        # default (flush every 2 min) lost acknowledged messages on power
        # loss in Jepsen's 2025 analysis; the mesh's events must not.
        # The users' passwords are in it: readable by the stack's user only.
        config = f"""server_name: simpipe-local
listen: 127.0.0.1:{ports["nats"]}
http: 127.0.0.1:{ports["nats_monitor"]}
jetstream {{
  store_dir: "{store}"
  sync_interval: always
}}
authorization: {json.dumps(authorization(stack), indent=2)}
"""
        path = stack.layout.generated / "nats.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(config)
        path.chmod(0o600)  # made before users had passwords: 0644

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name, [str(stack.layout.binaries["nats-server"]), "-c", self.config_path(stack)]
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(
            f"http://127.0.0.1:{stack.layout.ports['nats_monitor']}/healthz?js-enabled-only=true"
        )

    def after_start(self, stack: Stack) -> None:
        """The stream and durable consumers of the event contract belong to
        the deployment: made here as the cluster's provisioning Job makes them."""
        url = self.endpoints(stack)["nats"]
        done = subprocess.run(
            [sys.executable, "-m", "simpipe_events", "provision", "--nats-url", url],
            env={**os.environ, **nats_user_env(stack, PROVISIONER)},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"provisioning the event stream failed: {done.stderr.strip()}")
        stack.out(f"  events: {done.stdout.strip()}")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"nats": f"nats://127.0.0.1:{stack.layout.ports['nats']}"}
