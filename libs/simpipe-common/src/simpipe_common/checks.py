"""Dependency checks: each asks one system whether it answers, within a time limit.

A check never raises: a failure is its result. ServiceInfo.GetInfo runs a service's
dependency checks on request. /health runs only readiness checks (the runner's own: not
shutting down), so an outage of a shared dependency does not pull every replica of every
service out of its Kubernetes Service at once.
"""

import asyncio
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


Check = Callable[[], Awaitable[CheckResult]]


def dependency_check(name: str, probe: Callable[[], Awaitable[str]], timeout: float) -> Check:
    """A Check that runs `probe` (which returns a detail or raises) within `timeout` seconds."""

    async def check() -> CheckResult:
        try:
            detail = await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            return CheckResult(name, ok=False, detail=f"no answer within {timeout:g}s")
        except Exception as error:  # whatever went wrong is the answer
            return CheckResult(name, ok=False, detail=f"{type(error).__name__}: {error}")
        return CheckResult(name, ok=True, detail=detail)

    return check


def nats_check(url: str, timeout: float, options: Mapping[str, Any] | None = None) -> Check:
    """`options`: the service's user (nats_auth.connect_options)."""

    async def probe() -> str:
        errors: list[Exception] = []

        async def record(error: Exception) -> None:
            errors.append(error)  # becomes the check's detail rather than a log line

        try:
            connection = await nats.connect(
                url,
                connect_timeout=max(1, round(timeout)),
                allow_reconnect=False,
                # One retry without waiting: nats-py only gives up once a retry failed.
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                error_cb=record,
                **(options or {}),
            )
        except nats.errors.NoServersError:
            if errors:
                raise errors[-1] from None
            raise
        try:
            return f"{url}: nats-server {connection.connected_server_version}"
        finally:
            await connection.close()

    return dependency_check("nats", probe, timeout)


def http_check(name: str, url: str, timeout: float) -> Check:
    """Reachable means any HTTP answer below 500: 401/403 still prove the server is up."""

    def get() -> str:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return f"{url}: HTTP {response.status}"
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise
            return f"{url}: HTTP {error.code}"

    async def probe() -> str:
        return await asyncio.to_thread(get)

    return dependency_check(name, probe, timeout)
