"""Kubernetes watches of the simulated runs' pods and Workflows, each
change stamped with our own clock as it arrives.

The client is blocking: each watch runs on a thread of its own and hands
its events to the event loop. A watch lists first (so what changed while
nobody watched is seen, with the objects' own timestamps) and then
follows from that list's resourceVersion; an expired version lists again.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError, ProtocolError

log = structlog.get_logger(__name__)

# A watch call ends after this long and starts again from where it was: a
# stop is noticed within it, and a silent broken connection does not last.
WATCH_SECONDS = 30
RETRY_SECONDS = 1.0

# (kind of change: "LISTED", "ADDED", "MODIFIED", "DELETED"; the object; when)
Handler = Callable[[str, dict[str, Any], float], None]


class ObjectWatch:
    """Lists and watches one kind of object in a namespace, calling
    `handler` on the event loop for each object seen."""

    def __init__(
        self,
        name: str,
        api: Callable[[], client.ApiClient],
        list_call: Callable[[client.ApiClient], Callable[..., Any]],
        namespace: str,
        selector: str,
        handler: Handler,
        timeout: float,
    ) -> None:
        self.name = name
        self._api = api
        self._list_call = list_call
        self.namespace = namespace
        self.selector = selector
        self._handler = handler
        self._timeout = timeout
        self._stopped = threading.Event()
        self._watch: watch.Watch | None = None
        self._version = ""
        # Set once the first list has been handed over.
        self.synced = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.to_thread(self._follow, loop)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopped.set()
        if self._watch is not None:
            self._watch.stop()

    def _deliver(self, loop: asyncio.AbstractEventLoop, kind: str, obj: dict[str, Any]) -> None:
        now = time.time()
        loop.call_soon_threadsafe(self._handler, kind, obj, now)

    def _follow(self, loop: asyncio.AbstractEventLoop) -> None:
        self._version = ""
        while not self._stopped.is_set():
            try:
                if not self._version:
                    self._version = self._list(loop)
                    loop.call_soon_threadsafe(self.synced.set)
                self._version = self._watch_from(loop, self._version)
            except ProtocolError:
                # The apiserver ends a watch at its timeout by closing the
                # chunked answer: follow on from the last version seen.
                continue
            except (ApiException, HTTPError, OSError, ValueError) as error:
                if isinstance(error, ApiException) and error.status == 410:
                    self._version = ""
                    continue
                log.warning("watch failed; starting again", watch=self.name, error=str(error))
                self._version = ""
                self._stopped.wait(RETRY_SECONDS)

    def _list(self, loop: asyncio.AbstractEventLoop) -> str:
        call = self._list_call(self._api())
        token = ""
        version = ""
        while True:
            kwargs: dict[str, Any] = {
                "label_selector": self.selector, "limit": 500,
                "_preload_content": False, "_request_timeout": self._timeout,
            }  # fmt: skip
            if token:
                kwargs["_continue"] = token
            answer = json.loads(call(self.namespace, **kwargs).data)
            for item in answer.get("items") or ():
                self._deliver(loop, "LISTED", item)
            metadata = answer.get("metadata") or {}
            version = str(metadata.get("resourceVersion") or version)
            token = str(metadata.get("continue") or "")
            if not token:
                return version

    def _watch_from(self, loop: asyncio.AbstractEventLoop, version: str) -> str:
        self._watch = watch.Watch()
        call = self._list_call(self._api())
        for event in self._watch.stream(
            call, self.namespace, label_selector=self.selector,
            resource_version=version, timeout_seconds=WATCH_SECONDS,
            allow_watch_bookmarks=True, deserialize=False,
            _request_timeout=WATCH_SECONDS + self._timeout,
        ):  # fmt: skip
            if self._stopped.is_set():
                break
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    return ""
                raise ValueError(f"watch error: {obj.get('message')}")
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            self._version = version
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                self._deliver(loop, str(kind), obj)
        return version


def pods_call(api: client.ApiClient) -> Callable[..., Any]:
    return client.CoreV1Api(api).list_namespaced_pod


def workflows_call(api: client.ApiClient) -> Callable[..., Any]:
    custom = client.CustomObjectsApi(api)

    def list_workflows(namespace: str, **kwargs: Any) -> Any:
        return custom.list_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "workflows", **kwargs
        )

    return list_workflows
