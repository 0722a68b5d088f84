"""A local OpenID provider (oidc-provider-mock, from PyPI) on 127.0.0.1: the
gateway accepts its ID tokens, so an OIDC login (the web GUI's, a script's)
works on the local stack as against a real provider. Anyone may sign in as
any subject on its form: a developer's and the tests' provider, nothing
more. Its signing key is drawn at each start."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import http_ok

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# The client id the gateway takes ID tokens for (their audience): the web GUI's.
CLIENT_ID = "simpipe-web"


class Oidc(ProcessComponent):
    name = "oidc"
    port_keys = ("oidc",)
    binaries = ()

    def issuer(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['oidc']}"

    def spec(self, stack: Stack) -> ProcessSpec:
        port = str(stack.layout.ports["oidc"])
        # -W ignore: its authlib warns of deprecations at every start.
        command = [sys.executable, "-W", "ignore", "-m", "oidc_provider_mock"]
        return ProcessSpec(self.name, [*command, "--host", "127.0.0.1", "--port", port])

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self.issuer(stack)}/.well-known/openid-configuration")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {"oidc_issuer": self.issuer(stack)}

    def gateway_settings(self, stack: Stack) -> dict[str, str]:
        """The gateway's OIDC settings for this provider. Its ID tokens name
        the user by `sub` (other claims sit under `userinfo`)."""
        return {
            "SIMPIPE_OIDC_JWKS_URL": f"{self.issuer(stack)}/jwks",
            "SIMPIPE_OIDC_ISSUER": self.issuer(stack),
            "SIMPIPE_OIDC_AUDIENCE": CLIENT_ID,
            "SIMPIPE_OIDC_USER_CLAIM": "sub",
            # The mock keeps every client confidential and takes any secret.
            "SIMPIPE_OIDC_CLIENT_SECRET": "local-mock-secret",
        }
