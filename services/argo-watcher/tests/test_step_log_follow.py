"""Following a pod's log: the Kubernetes client's streamed answer (faked
here) becomes batches of whole lines, ending with the container."""

import threading
from collections.abc import Iterator
from typing import Any, cast

import kubernetes.client
import pytest
from kubernetes.client.exceptions import ApiException

from simpipe_argo_watcher.logs import LogsUnavailableError, follow_pod_log

# Never called: the client class is faked by each test.
API = cast("kubernetes.client.ApiClient", object())


class Streamed:
    """A urllib3 response whose chunks come one per `release`."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.released = threading.Semaphore(0)
        self.closed = False

    def stream(self, _: int) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.released.acquire()
            if self.closed:
                raise OSError("closed")
            yield chunk

    def close(self) -> None:
        self.closed = True
        self.released.release()


def fake_api(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []

    class CoreV1Api:
        def __init__(self, _: object) -> None:
            pass

        def read_namespaced_pod_log(self, pod: str, namespace: str, **options: Any) -> Any:
            asked.append({"pod": pod, "namespace": namespace, **options})
            if isinstance(answer, Exception):
                raise answer
            return answer

    monkeypatch.setattr(kubernetes.client, "CoreV1Api", CoreV1Api)
    return asked


async def test_lines_come_as_they_are_written_and_end_with_the_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    response = Streamed([b"one\ntw", b"o\n", b"three"])
    asked = fake_api(monkeypatch, response)
    batches: list[list[str]] = []
    follow = follow_pod_log(API, "simpipe", "pod-1", batch_seconds=0.05)
    response.released.release()
    batches.append(await anext(follow))
    # The first line went out before the rest was written.
    assert batches == [["one"]]
    response.released.release()
    response.released.release()
    batches += [batch async for batch in follow]
    assert [line for batch in batches for line in batch] == ["one", "two", "three"]
    assert asked == [
        {"pod": "pod-1", "namespace": "simpipe", "container": "main", "follow": True,
         "_preload_content": False}
    ]  # fmt: skip


async def test_leaving_early_closes_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    response = Streamed([b"one\n", b"two\n"])
    fake_api(monkeypatch, response)
    follow = follow_pod_log(API, "simpipe", "pod-1", batch_seconds=0.01)
    response.released.release()
    assert await anext(follow) == ["one"]
    await follow.aclose()
    assert response.closed


async def test_a_pod_gone_ends_the_log_and_other_refusals_are_typed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api(monkeypatch, ApiException(status=404, reason="Not Found"))
    assert [b async for b in follow_pod_log(API, "simpipe", "gone", 0.01)] == []
    refused = ApiException(status=400, reason="Bad Request")
    refused.body = '{"message": "container \\"main\\" is waiting to start"}'
    fake_api(monkeypatch, refused)
    with pytest.raises(LogsUnavailableError, match="waiting to start"):
        [b async for b in follow_pod_log(API, "simpipe", "pod-1", 0.01)]
