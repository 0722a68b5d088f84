"""Step logs once the pod is gone: from the `main-logs` artifact Argo archived."""

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_argo_watcher.convert import Workflow, to_dry_run
from simpipe_argo_watcher.logs import StepLogs
from simpipe_common.errors import NotFoundError
from simpipe_common.testing import UNREACHABLE_URL

EXPLODE = "capture-vkfvt-2349931391"


class ArchivedLog(ArgoArchive):
    def __init__(self) -> None:
        super().__init__(UNREACHABLE_URL, ("simpipe",), 1)
        self.read: list[tuple[str, str, str, bool]] = []

    async def step_log(
        self, namespace: str, name: str, uid: str, node_id: str, archived: bool
    ) -> str:
        self.read.append((name, uid, node_id, archived))
        return "loading\nexploding\nexit 3\n"


def with_log_artifact(failed: dict[str, Any]) -> Workflow:
    workflow = copy.deepcopy(failed)
    outputs = workflow["status"]["nodes"][EXPLODE]["outputs"]
    outputs["artifacts"] = [{"name": "main-logs", "s3": {"key": "x/main.log"}}]
    return workflow


@pytest.fixture
async def archive() -> Any:
    archive = ArchivedLog()
    yield archive
    await archive.close()


def no_kube() -> Any:
    raise AssertionError("archived runs are not read from the Kubernetes API")


async def test_an_archived_run_reads_the_log_artifact(
    failed: dict[str, Any], archive: ArchivedLog
) -> None:
    dry_run = to_dry_run(with_log_artifact(failed), archived=True)
    node = next(n for n in dry_run.nodes if n.id == EXPLODE)
    logs = StepLogs(no_kube, "simpipe", archive)
    assert await logs.lines(dry_run, node, None, "", 0) == ["loading", "exploding", "exit 3"]
    assert await logs.lines(dry_run, node, None, "xpl", 0) == ["exploding"]
    assert await logs.lines(dry_run, node, None, "", 1) == ["exit 3"]
    # The Workflow's name and uid, each in its own place (archive.step_log reads
    # by uid once archived, by name before).
    name, uid = failed["metadata"]["name"], failed["metadata"]["uid"]
    assert name != uid
    assert archive.read[-1] == (name, uid, EXPLODE, True)
    # No per-line times in an archived log: `since` keeps or drops the step whole.
    later = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert await logs.lines(dry_run, node, later, "", 0) == []


async def test_without_a_log_artifact_it_says_no_log_is_kept(
    failed: dict[str, Any], archive: ArchivedLog
) -> None:
    dry_run = to_dry_run(failed, archived=True)
    node = next(n for n in dry_run.nodes if n.id == EXPLODE)
    with pytest.raises(NotFoundError, match=r"no log of step .* is kept"):
        await StepLogs(no_kube, "simpipe", archive).lines(dry_run, node, None, "", 0)
