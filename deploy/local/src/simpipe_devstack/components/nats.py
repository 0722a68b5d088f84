"""NATS with JetStream: the services' event mesh."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack


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
        (stack.layout.generated / "nats.conf").write_text(
            f"""server_name: simpipe-local
listen: 127.0.0.1:{ports["nats"]}
http: 127.0.0.1:{ports["nats_monitor"]}
jetstream {{
  store_dir: "{store}"
  sync_interval: always
}}
"""
        )

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
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"provisioning the event stream failed: {done.stderr.strip()}")
        stack.out(f"  events: {done.stdout.strip()}")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"nats": f"nats://127.0.0.1:{stack.layout.ports['nats']}"}
