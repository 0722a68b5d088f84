"""One list-then-watch of SIM-PIPE's Workflows in a namespace, in a worker thread.

The `kubernetes` package's Watch blocks, so it runs in a daemon thread and
hands what it sees to the event loop; this keeps one Kubernetes client (the
one simpipe_common.kube builds) rather than adding kubernetes_asyncio. A
dropped or timed-out watch resumes from the last resourceVersion it saw
(bookmarks keep that fresh); 410 Gone means that version left the apiserver's
window, so the watch lists again and continues from the list's version.
"""

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from simpipe_argo_watcher.convert import Workflow
from simpipe_argo_watcher.metrics import RELISTS, WATCH_ERRORS, WATCH_EVENTS
from simpipe_common.ownership import LABEL_MANAGED

log = structlog.get_logger(__name__)

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
SELECTOR = f"{LABEL_MANAGED}=true"
HTTP_GONE = 410
MAX_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class Listed:
    """Every Workflow there is now in `namespace`: the model's runs there
    are replaced by these."""

    workflows: list[Workflow]
    namespace: str


@dataclass(frozen=True)
class Watched:
    type: str  # ADDED, MODIFIED or DELETED
    workflow: Workflow


WatchItem = Listed | Watched


class WorkflowWatch:
    def __init__(
        self,
        api: Callable[[], client.ApiClient],
        namespace: str,
        timeout_seconds: int,
        loop: asyncio.AbstractEventLoop,
        receive: Callable[[WatchItem], None],
    ) -> None:
        """`receive` is called on `loop` with each item, in order."""
        self._api = api
        self._namespace = namespace
        self._timeout_seconds = timeout_seconds
        self._loop = loop
        self._receive = receive
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"workflow-watch-{namespace}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The thread ends at its next event or request timeout; being a daemon it
        never holds up the process's exit."""
        self._stopping.set()

    def _hand_over(self, item: WatchItem) -> None:
        self._loop.call_soon_threadsafe(self._receive, item)

    def _run(self) -> None:
        resource_version: str | None = None
        reason = "start"
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    resource_version = self._list()
                    RELISTS.labels(reason).inc()
                resource_version = self._watch(resource_version)
                backoff = 0.5
            except ApiException as error:
                if error.status == HTTP_GONE:
                    log.info("watch resourceVersion expired; listing again")
                    resource_version, reason = None, "gone"
                    continue
                WATCH_ERRORS.inc()
                log.warning("workflow watch failed", status=error.status, reason=error.reason)
            except Exception as error:  # the apiserver is away: keep trying
                WATCH_ERRORS.inc()
                log.warning("workflow watch failed", error=f"{type(error).__name__}: {error}")
            else:
                continue
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _list(self) -> str:
        listed: Any = client.CustomObjectsApi(self._api()).list_namespaced_custom_object(
            GROUP,
            VERSION,
            self._namespace,
            PLURAL,
            label_selector=SELECTOR,
            _request_timeout=self._timeout_seconds,
        )
        self._hand_over(Listed(list(listed.get("items") or []), self._namespace))
        return str(listed["metadata"]["resourceVersion"])

    def _watch(self, resource_version: str) -> str:
        """Streams until the server ends the request; returns the last version seen."""
        stream = watch.Watch().stream(
            client.CustomObjectsApi(self._api()).list_namespaced_custom_object,
            GROUP,
            VERSION,
            self._namespace,
            PLURAL,
            label_selector=SELECTOR,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._timeout_seconds,
            # A connection that goes quiet beyond the server's own timeout is dead.
            _request_timeout=(self._timeout_seconds, self._timeout_seconds + 10),
        )
        for event in stream:
            if event is None:  # a blank keep-alive line
                continue
            kind, workflow = str(event["type"]), event["raw_object"]
            WATCH_EVENTS.labels(kind).inc()
            resource_version = str(workflow["metadata"]["resourceVersion"])
            if kind != "BOOKMARK":
                self._hand_over(Watched(kind, workflow))
            if self._stopping.is_set():
                break
        return resource_version
