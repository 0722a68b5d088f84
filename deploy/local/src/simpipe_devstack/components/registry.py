"""A private image registry (CNCF distribution) with one htpasswd login, on
127.0.0.1: images a dry run may pull only with that login as one of its
imagePullSecrets (the tests of registry credentials). The node's containerd
pulls from a loopback registry over plain HTTP by default, so neither it nor
the kubelet needs any configuration for it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt
import httpx
import yaml

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.processes import ProcessSpec

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

REALM = "simpipe-registry"


class Registry(ProcessComponent):
    name = "registry"
    port_keys = ("registry",)
    binaries = ("registry",)

    def address(self, stack: Stack) -> str:
        """host:port, as image names and registry credentials name it."""
        return f"127.0.0.1:{stack.layout.ports['registry']}"

    def config_file(self, stack: Stack) -> Path:
        return stack.layout.generated / "registry" / "config.yml"

    def prepare(self, stack: Stack) -> None:
        config = self.config_file(stack).parent
        config.mkdir(parents=True, exist_ok=True)
        login = stack.secrets.registry
        htpasswd = config / "htpasswd"
        hashed = bcrypt.hashpw(login["password"].encode(), bcrypt.gensalt()).decode()
        htpasswd.write_text(f"{login['user']}:{hashed}\n")
        htpasswd.chmod(0o600)
        settings = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(stack.layout.data / "registry")},
                "delete": {"enabled": True},
            },
            # The secret signs upload state between requests: one per start.
            "http": {"addr": self.address(stack), "secret": secrets.token_urlsafe(24)},
            "auth": {"htpasswd": {"realm": REALM, "path": str(htpasswd)}},
        }
        path = self.config_file(stack)
        path.write_text(yaml.safe_dump(settings))
        path.chmod(0o600)

    def spec(self, stack: Stack) -> ProcessSpec:
        binary = stack.layout.binaries["registry"]
        return ProcessSpec(self.name, [str(binary), "serve", str(self.config_file(stack))])

    def ready(self, stack: Stack) -> Callable[[], bool]:
        url = f"http://{self.address(stack)}/v2/"
        login = stack.secrets.registry

        def check() -> bool:
            # The API root answers the login, and only it.
            auth = (login["user"], login["password"])
            return httpx.get(url, auth=auth, timeout=2.0).status_code == 200

        return check

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"registry": f"http://{self.address(stack)}"}
