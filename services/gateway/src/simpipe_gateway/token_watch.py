"""The access tokens' Secrets on the Kubernetes API: written through
SecretsApi, and followed by every replica with one list-then-watch in a
worker thread (lightkube's synchronous watch blocks), which hands what it
sees to the event loop. lightkube resumes a watch the server ended from the
last resourceVersion it saw; 410 Gone means that version left the
apiserver's window, so the watch lists again and goes on from the list's
version. (argo-watcher follows its Workflows the same way.)

lightkube rather than the `kubernetes` package: its CoreV1Api alone made up
most of the gateway's memory, for four calls on one kind.
"""

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import structlog
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret as SecretResource

from simpipe_gateway.access_tokens import LABEL_ACCESS_TOKEN, AccessTokenStore

log = structlog.get_logger(__name__)

HTTP_NOT_FOUND = 404
HTTP_GONE = 410
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
# A watch request ends after this long and is resumed: a connection that
# went away silently is noticed within it.
WATCH_SECONDS = 60
# Any other call to the apiserver.
REQUEST_SECONDS = 10.0

Secret = Mapping[str, Any]


class WatchExpiredError(Exception):
    """The version a watch resumed from has left the apiserver's window (410)."""


class SecretSource(Protocol):
    """Where the watch reads the Secrets (blocking calls)."""

    def list(self) -> tuple[list[Secret], str]:
        """Every token Secret and the list's resourceVersion."""
        ...

    def watch(self, resource_version: str) -> Iterator[tuple[str, Secret]]:
        """(ADDED | MODIFIED | DELETED, Secret) from that version on;
        WatchExpiredError when that version is gone."""
        ...


def kubernetes_client(kubeconfig: Path | None, namespace: str) -> Client:
    """A client for the cluster of `kubeconfig`, or, without one, the pod's own cluster."""
    config = (
        KubeConfig.from_service_account()
        if kubeconfig is None
        else KubeConfig.from_file(kubeconfig)
    )
    return Client(config, namespace=namespace, timeout=httpx.Timeout(REQUEST_SECONDS))


class SecretsApi:
    """The services' namespace's token Secrets on the Kubernetes API."""

    def __init__(self, client: Callable[[], Client]) -> None:
        self._client = client

    @classmethod
    def of_cluster(cls, kubeconfig: Path | None, namespace: str) -> "SecretsApi":
        """The client made on first use and kept: an unreadable kubeconfig or
        an absent cluster fails that call (and is tried again), not the start."""
        return cls(functools.cache(lambda: kubernetes_client(kubeconfig, namespace)))

    def create(self, secret: dict[str, Any]) -> None:
        metadata = secret["metadata"]
        self._client().create(
            SecretResource(
                type=secret["type"],
                metadata=ObjectMeta(name=metadata["name"], labels=metadata["labels"]),
                data=secret["data"],
            )
        )

    def delete(self, name: str) -> None:
        try:
            self._client().delete(SecretResource, name)
        except ApiError as error:
            if error.status.code != HTTP_NOT_FOUND:  # gone already: revoked twice at once
                raise

    def list(self) -> tuple[list[Secret], str]:
        listed = self._client().list(SecretResource, labels={LABEL_ACCESS_TOKEN: "true"})
        secrets = [_as_json(secret) for secret in listed]
        return secrets, listed.resourceVersion

    def watch(self, resource_version: str) -> Iterator[tuple[str, Secret]]:
        events = self._client().watch(
            SecretResource,
            labels={LABEL_ACCESS_TOKEN: "true"},
            resource_version=resource_version,
            server_timeout=WATCH_SECONDS,
        )
        try:
            for kind, secret in events:
                yield kind, _as_json(secret)
        except ApiError as error:
            if error.status.code == HTTP_GONE:
                raise WatchExpiredError(error.status.message) from error
            raise


def _as_json(secret: SecretResource) -> Secret:
    """The Secret as the API writes it (camelCase keys), as the store reads it."""
    found: Secret = secret.to_dict()  # type: ignore[no-untyped-call]
    return found


@dataclass(frozen=True)
class _Listed:
    secrets: list[Secret]


@dataclass(frozen=True)
class _Watched:
    type: str
    secret: Secret


class TokenWatch:
    """Keeps `store` equal to the Secrets `source` has."""

    def __init__(
        self,
        source: SecretSource,
        store: AccessTokenStore,
        loop: asyncio.AbstractEventLoop,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
    ) -> None:
        self._source = source
        self._store = store
        self._loop = loop
        self._first_backoff = first_backoff
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-token-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The thread ends at its next event; a daemon, it never holds up the
        process's exit."""
        self._stopping.set()

    def _hand_over(self, item: _Listed | _Watched) -> None:
        self._loop.call_soon_threadsafe(self._apply, item)

    def _apply(self, item: _Listed | _Watched) -> None:
        match item:
            case _Listed(secrets):
                self._store.replace_all(secrets)
            case _Watched("DELETED", secret):
                self._store.remove(secret)
            case _Watched(_, secret):
                self._store.put(secret)

    def _run(self) -> None:
        resource_version: str | None = None
        backoff = self._first_backoff
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    secrets, resource_version = self._source.list()
                    self._hand_over(_Listed(secrets))
                resource_version = self._watch(resource_version)
                backoff = self._first_backoff
                continue
            except WatchExpiredError:
                log.info("access token watch expired; listing again")
                resource_version = None
                continue
            except ApiError as error:
                log.warning(
                    "access token watch failed",
                    status=error.status.code,
                    reason=error.status.reason,
                )
            except Exception as error:  # the apiserver is away: keep trying
                log.warning("access token watch failed", error=f"{type(error).__name__}: {error}")
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _watch(self, resource_version: str) -> str:
        """Streams until the server ends the request; returns the last version seen."""
        for kind, secret in self._source.watch(resource_version):
            resource_version = str(secret["metadata"]["resourceVersion"])
            self._hand_over(_Watched(kind, secret))
            if self._stopping.is_set():
                break
        return resource_version
