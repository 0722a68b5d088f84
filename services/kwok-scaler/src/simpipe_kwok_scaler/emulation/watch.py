"""One list-then-watch of Argo's step pods in the workflows namespace, in a
worker thread (the `kubernetes` package's watch blocks), handing each pod
to the event loop as plain JSON. A dropped watch resumes from the last
resourceVersion it saw; 410 Gone lists again (every pod is handed over
again, which the emulation takes as it is: idempotent)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import structlog
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from simpipe_kwok_scaler.emulation.kube import decoded
from simpipe_kwok_scaler.emulation.metrics import WATCH_ERRORS
from simpipe_kwok_scaler.emulation.pods import LABEL_WORKFLOW

log = structlog.get_logger(__name__)

HTTP_GONE = 410
MAX_BACKOFF_SECONDS = 10.0
Pod = dict[str, Any]


class PodWatch:
    def __init__(
        self,
        api: Callable[[], client.ApiClient],
        namespace: str,
        timeout_seconds: int,
        loop: asyncio.AbstractEventLoop,
        receive: Callable[[Pod, bool], None],
    ) -> None:
        """`receive(pod, deleted)` is called on `loop` for every pod seen."""
        self._api = api
        self._namespace = namespace
        self._timeout_seconds = timeout_seconds
        self._loop = loop
        self._receive = receive
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulation-pods", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _hand_over(self, pod: Pod, deleted: bool) -> None:
        self._loop.call_soon_threadsafe(self._receive, pod, deleted)

    def _run(self) -> None:
        resource_version: str | None = None
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    resource_version = self._list()
                resource_version = self._watch(resource_version)
                backoff = 0.5
                continue
            except ApiException as error:
                if error.status == HTTP_GONE:
                    resource_version = None
                    continue
                WATCH_ERRORS.inc()
                log.warning("pod watch failed", status=error.status, reason=error.reason)
            except Exception as error:  # the apiserver is away: keep trying
                # From the start: the client cannot tell every kind of
                # failure of an undecoded watch apart (an expired version
                # among them), and listing again is always correct.
                resource_version = None
                WATCH_ERRORS.inc()
                log.warning("pod watch failed", error=f"{type(error).__name__}: {error}")
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _list(self) -> str:
        response = client.CoreV1Api(self._api()).list_namespaced_pod(
            self._namespace,
            label_selector=LABEL_WORKFLOW,
            _request_timeout=self._timeout_seconds,
            _preload_content=False,
        )
        listed = decoded(response)
        for pod in listed.get("items") or []:
            self._hand_over(pod, False)
        return str(listed["metadata"]["resourceVersion"])

    def _watch(self, resource_version: str) -> str:
        stream = watch.Watch().stream(
            client.CoreV1Api(self._api()).list_namespaced_pod,
            self._namespace,
            label_selector=LABEL_WORKFLOW,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._timeout_seconds,
            _request_timeout=(self._timeout_seconds, self._timeout_seconds + 10),
            deserialize=False,
        )
        for line in stream:
            if not line:
                continue
            event = json.loads(line) if isinstance(line, (str, bytes)) else line
            kind, pod = str(event.get("type")), event.get("object") or {}
            resource_version = str((pod.get("metadata") or {}).get("resourceVersion") or "")
            if kind != "BOOKMARK":
                self._hand_over(pod, kind == "DELETED")
            if self._stopping.is_set():
                break
        return resource_version
