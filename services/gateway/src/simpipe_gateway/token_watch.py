"""The access tokens' Secrets on the Kubernetes API: written through
SecretsApi, and followed by every replica with one list-then-watch in a
worker thread (the `kubernetes` package's watch blocks), which hands what it
sees to the event loop. A dropped or timed-out watch resumes from the last
resourceVersion it saw (bookmarks keep that fresh); 410 Gone means that
version left the apiserver's window, so it lists again and goes on from the
list's version. (argo-watcher follows its Workflows the same way.)
"""

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from simpipe_gateway.access_tokens import LABEL_ACCESS_TOKEN, AccessTokenStore

log = structlog.get_logger(__name__)

SELECTOR = f"{LABEL_ACCESS_TOKEN}=true"
HTTP_NOT_FOUND = 404
HTTP_GONE = 410
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
# A watch request ends after this long and is resumed: a connection that
# went away silently is noticed within it.
WATCH_SECONDS = 60

Secret = Mapping[str, Any]


class SecretSource(Protocol):
    """Where the watch reads the Secrets (blocking calls)."""

    def list(self) -> tuple[list[Secret], str]:
        """Every token Secret and the list's resourceVersion."""
        ...

    def watch(self, resource_version: str) -> Iterator[tuple[str, Secret]]:
        """(ADDED | MODIFIED | DELETED | BOOKMARK, Secret) from that version on,
        until the server ends the request; ApiException 410 when it is gone."""
        ...


class SecretsApi:
    """The services' namespace's token Secrets on the Kubernetes API."""

    def __init__(self, api: Callable[[], client.ApiClient], namespace: str) -> None:
        self._api = api
        self._namespace = namespace

    def _core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self._api())

    def create(self, secret: dict[str, Any]) -> None:
        metadata = secret["metadata"]
        body = client.V1Secret(
            api_version="v1",
            kind="Secret",
            type=secret["type"],
            metadata=client.V1ObjectMeta(name=metadata["name"], labels=metadata["labels"]),
            data=secret["data"],
        )
        self._core().create_namespaced_secret(self._namespace, body, _request_timeout=10)

    def delete(self, name: str) -> None:
        try:
            self._core().delete_namespaced_secret(name, self._namespace, _request_timeout=10)
        except ApiException as error:
            if error.status != HTTP_NOT_FOUND:  # gone already: revoked twice at once
                raise

    def list(self) -> tuple[list[Secret], str]:
        # The raw JSON, as the watch hands over its objects.
        response: Any = self._core().list_namespaced_secret(
            self._namespace, label_selector=SELECTOR, _preload_content=False, _request_timeout=10
        )
        listed = json.loads(response.data)
        return list(listed.get("items") or []), str(listed["metadata"]["resourceVersion"])

    def watch(self, resource_version: str) -> Iterator[tuple[str, Secret]]:
        stream = watch.Watch().stream(
            self._core().list_namespaced_secret,
            self._namespace,
            label_selector=SELECTOR,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=(10, WATCH_SECONDS + 10),
        )
        for event in stream:
            if event is not None:  # None: a blank keep-alive line
                yield str(event["type"]), event["raw_object"]


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
        """The thread ends at its next event or request timeout; a daemon, it
        never holds up the process's exit."""
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
            except ApiException as error:
                if error.status == HTTP_GONE:
                    log.info("access token watch expired; listing again")
                    resource_version = None
                    continue
                log.warning("access token watch failed", status=error.status, reason=error.reason)
            except Exception as error:  # the apiserver is away: keep trying
                log.warning("access token watch failed", error=f"{type(error).__name__}: {error}")
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _watch(self, resource_version: str) -> str:
        """Streams until the server ends the request; returns the last version seen."""
        for kind, secret in self._source.watch(resource_version):
            resource_version = str(secret["metadata"]["resourceVersion"])
            if kind != "BOOKMARK":
                self._hand_over(_Watched(kind, secret))
            if self._stopping.is_set():
                break
        return resource_version
