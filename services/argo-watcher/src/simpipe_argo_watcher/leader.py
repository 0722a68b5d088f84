"""Leader election on a coordination.k8s.io Lease: every replica watches and
serves reads, only the holder of the Lease publishes events.

Like client-go's leaderelection, a Lease counts as expired when its record has
not changed for leaseDurationSeconds by *our* clock (no trust in the holder's
clock), and a leader that could not renew for two thirds of that steps down
before anyone else may take over. Updates carry the resourceVersion read, so
two candidates cannot both win.
"""

import asyncio
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simpipe_argo_watcher.metrics import IS_LEADER

log = structlog.get_logger(__name__)

HTTP_NOT_FOUND, HTTP_CONFLICT = 404, 409


def identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class LeaseElection:
    def __init__(
        self,
        api: Callable[[], client.ApiClient],
        namespace: str,
        name: str,
        lease_seconds: int,
        on_change: Callable[[bool], None],
    ) -> None:
        self._api = api
        self._namespace = namespace
        self._name = name
        self._lease_seconds = lease_seconds
        self._on_change = on_change
        self.identity = identity()
        self.is_leader = False
        # The holder and renew time last seen, and when (monotonic) we saw them change.
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0

    async def run(self) -> None:
        """Tries to acquire or renew every third of the lease, until cancelled."""
        interval = max(self._lease_seconds / 3, 0.5)
        while True:
            try:
                holds = await asyncio.to_thread(self._try_acquire_or_renew)
            except Exception as error:  # the apiserver is away: hold on until the deadline
                log.warning("lease update failed", error=_describe(error))
                holds = self.is_leader and (
                    time.monotonic() - self._renewed_at < self._lease_seconds * 2 / 3
                )
            self._set_leader(holds)
            await asyncio.sleep(interval)

    async def release(self) -> None:
        """Hands the Lease back on a graceful stop, so another replica needs not
        wait for it to expire."""
        if self.is_leader:
            self._set_leader(False)
            try:
                await asyncio.to_thread(self._release)
            except Exception as error:
                log.warning("lease release failed", error=_describe(error))

    def _leases(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self._api())

    def _set_leader(self, holds: bool) -> None:
        if holds != self.is_leader:
            self.is_leader = holds
            IS_LEADER.set(1 if holds else 0)
            log.info("leadership changed", leader=holds, identity=self.identity)
            self._on_change(holds)

    def _try_acquire_or_renew(self) -> bool:
        now = datetime.now(UTC)
        try:
            lease: client.V1Lease = self._leases().read_namespaced_lease(
                self._name, self._namespace
            )
        except ApiException as error:
            if error.status != HTTP_NOT_FOUND:
                raise
            return self._create(now)
        spec: client.V1LeaseSpec = lease.spec or client.V1LeaseSpec()
        holder = spec.holder_identity or ""
        record = (holder, str(spec.renew_time))
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()
        duration = spec.lease_duration_seconds or self._lease_seconds
        expired = time.monotonic() - self._observed_at > duration
        if holder and holder != self.identity and not expired:
            return False
        if holder != self.identity:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = self.identity
        spec.lease_duration_seconds = self._lease_seconds
        spec.renew_time = now
        lease.spec = spec
        try:
            self._leases().replace_namespaced_lease(self._name, self._namespace, lease)
        except ApiException as error:
            if error.status == HTTP_CONFLICT:  # someone else wrote it first
                return False
            raise
        self._renewed_at = time.monotonic()
        return True

    def _create(self, now: datetime) -> bool:
        lease = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self._name, namespace=self._namespace),
            spec=client.V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self._lease_seconds,
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            self._leases().create_namespaced_lease(self._namespace, lease)
        except ApiException as error:
            if error.status == HTTP_CONFLICT:
                return False
            raise
        self._renewed_at = time.monotonic()
        return True

    def _release(self) -> None:
        lease: client.V1Lease = self._leases().read_namespaced_lease(self._name, self._namespace)
        if lease.spec is None or lease.spec.holder_identity != self.identity:
            return
        lease.spec.holder_identity = ""
        lease.spec.lease_duration_seconds = 1
        self._leases().replace_namespaced_lease(self._name, self._namespace, lease)


def _describe(error: Exception) -> str:
    # An ApiException's str() carries every response header: the status says it all.
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {error.reason}"
    return f"{type(error).__name__}: {error}"
