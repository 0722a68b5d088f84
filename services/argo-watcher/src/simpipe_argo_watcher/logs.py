"""Step logs: live from the Kubernetes API while the step's pod exists, else the
`main-logs` artifact Argo archived to S3 (through the Argo server).

Live logs come from the pod log API rather than the Argo server's
/workflows/{ns}/{name}/log, which swallows a failing pod stream into an
empty answer: here a node that serves no logs (a KWOK node) is a clear error,
not a silently empty log. Archived logs carry no per-line times, so `since`
keeps or drops them whole, by the step's finish time.
"""

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simpipe.v1 import dry_runs_pb2
from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_common.errors import NotFoundError, ServiceError, UnavailableError

MAIN_LOGS_ARTIFACT = "main-logs"
# New lines of a followed log go out at most this long after they are read.
FOLLOW_BATCH_SECONDS = 0.1
HTTP_NOT_FOUND = 404


class LogsUnavailableError(ServiceError):
    """The pod exists but its log cannot be read: its container has not started,
    or its node keeps no logs (KWOK's simulated nodes answer "no logs found")."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "logs-unavailable"


@dataclass(frozen=True)
class LogLine:
    time: datetime | None
    text: str


def timestamped_lines(text: str) -> list[LogLine]:
    """Lines as the pod log API returns them with timestamps=true: "<RFC3339> <text>"."""
    lines = []
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        try:
            lines.append(LogLine(datetime.fromisoformat(stamp), rest))
        except ValueError:
            lines.append(LogLine(None, raw))
    return lines


def select(
    lines: Iterable[LogLine], since: datetime | None, grep: str, max_lines: int
) -> list[str]:
    """Lines at or after `since` containing `grep`, the last `max_lines` of them (0: all)."""
    kept = [
        line.text
        for line in lines
        if (since is None or line.time is None or line.time >= since) and grep in line.text
    ]
    return kept[-max_lines:] if max_lines > 0 else kept


class StepLogs:
    def __init__(
        self, api: Callable[[], client.ApiClient], namespace: str, archive: ArgoArchive
    ) -> None:
        """`namespace`: where a run that does not say (read before runs said) is."""
        self._api = api
        self.namespace = namespace
        self._archive = archive

    def follow(self, namespace: str, pod: str) -> AsyncGenerator[list[str], None]:
        return follow_pod_log(self._api(), namespace, pod, FOLLOW_BATCH_SECONDS)

    async def lines(
        self,
        dry_run: dry_runs_pb2.DryRun,
        node: dry_runs_pb2.DryRunNode,
        since: datetime | None,
        grep: str,
        max_lines: int,
    ) -> list[str]:
        if not dry_run.archived:
            namespace = dry_run.namespace or self.namespace
            live = await self._live(namespace, node.pod_name, since, grep, max_lines)
            if live is not None:
                return select(live, since, grep, max_lines)
        if not any(artifact.name == MAIN_LOGS_ARTIFACT for artifact in node.output_artifacts):
            raise NotFoundError(
                f"no log of step {node.id} is kept: its pod is gone and Argo archived "
                f"no '{MAIN_LOGS_ARTIFACT}' artifact for it"
            )
        finished = node.finished_at.ToDatetime(tzinfo=UTC) if node.HasField("finished_at") else None
        if since is not None and finished is not None and finished < since:
            return []
        text = await self._archive.step_log(
            dry_run.namespace, dry_run.id, dry_run.uid, node.id, dry_run.archived
        )
        return select((LogLine(None, line) for line in text.splitlines()), None, grep, max_lines)

    async def _live(
        self, namespace: str, pod: str, since: datetime | None, grep: str, max_lines: int
    ) -> list[LogLine] | None:
        """The pod's `main` log; None when the pod is gone."""
        # Kubernetes can tail by itself only when nothing is filtered before the tail.
        tail = max_lines if max_lines > 0 and since is None and not grep else None

        def read() -> str:
            text: str = client.CoreV1Api(self._api()).read_namespaced_pod_log(
                pod,
                namespace,
                container="main",
                timestamps=True,
                tail_lines=tail,
                _request_timeout=30,
            )
            return text

        try:
            return timestamped_lines(await asyncio.to_thread(read))
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return None
            raise LogsUnavailableError(
                f"the log of pod {pod} cannot be read: {_api_message(error)}"
            ) from error
        except Exception as error:
            raise UnavailableError(
                f"the Kubernetes API does not answer: {type(error).__name__}: {error}"
            ) from error


class LineSplitter:
    """Whole lines out of a byte stream read in chunks that may cut a line,
    or a UTF-8 character, anywhere."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, chunk: bytes) -> list[str]:
        *whole, self._partial = (self._partial + chunk).split(b"\n")
        return [line.decode(errors="replace") for line in whole]

    def rest(self) -> list[str]:
        """What is left once the stream ended: a last line without its newline."""
        rest, self._partial = self._partial, b""
        return [rest.decode(errors="replace")] if rest else []


async def follow_pod_log(
    api: client.ApiClient, namespace: str, pod: str, batch_seconds: float
) -> AsyncGenerator[list[str], None]:
    """The `main` container's log from its start, then each new line as the
    container writes it, in batches at most `batch_seconds` apart, until the
    container ends. Reading happens in a thread; leaving the iteration (the
    client went away) closes the stream, which ends the thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[str] | BaseException | None] = asyncio.Queue()
    opened: list[Any] = []

    def read() -> None:
        splitter = LineSplitter()
        try:
            # Unread (a urllib3 response), whatever the client's annotation says.
            response: Any = client.CoreV1Api(api).read_namespaced_pod_log(
                pod, namespace, container="main", follow=True, _preload_content=False
            )
            opened.append(response)
            for chunk in response.stream(64 * 1024):
                lines = splitter.feed(chunk)
                if lines:
                    loop.call_soon_threadsafe(queue.put_nowait, lines)
            loop.call_soon_threadsafe(queue.put_nowait, splitter.rest())
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except BaseException as error:  # handed to the reader, whatever it is
            loop.call_soon_threadsafe(queue.put_nowait, error)

    reader = loop.run_in_executor(None, read)
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                if isinstance(item, ApiException) and item.status == HTTP_NOT_FOUND:
                    return  # the pod went away while followed
                if isinstance(item, ApiException):
                    raise LogsUnavailableError(
                        f"the log of pod {pod} cannot be read: {_api_message(item)}"
                    ) from item
                if opened and getattr(opened[0], "closed", False):
                    return
                raise UnavailableError(f"following the log of pod {pod} failed: {item}") from item
            lines = list(item)
            # More lines already read join this batch, within batch_seconds.
            deadline = loop.time() + batch_seconds
            while (timeout := deadline - loop.time()) > 0:
                try:
                    more = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    break
                if not isinstance(more, list):
                    queue.put_nowait(more)  # the end or an error: after this batch
                    break
                lines.extend(more)
            if lines:
                yield lines
    finally:
        if opened:
            opened[0].close()
        reader.cancel()


def _api_message(error: ApiException) -> str:
    try:
        message = json.loads(error.body or "")["message"]
    except (ValueError, KeyError, TypeError):
        message = error.reason
    return f"HTTP {error.status}: {message}"
