"""The ArgoWatcher servicer on an in-process gRPC server, over an in-memory read
model and a stand-in for Argo's archive."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc
import pytest

from simpipe.v1 import argo_watcher_pb2 as pb
from simpipe.v1 import argo_watcher_pb2_grpc, dry_runs_pb2, events_pb2
from simpipe_argo_watcher.api import ArgoWatcherApi
from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_argo_watcher.convert import Workflow
from simpipe_argo_watcher.live_workflows import LiveWorkflows
from simpipe_argo_watcher.logs import StepLogs
from simpipe_argo_watcher.read_model import ReadModel
from simpipe_common.errors import REASON_KEY, NotFoundError
from simpipe_common.testing import UNREACHABLE_URL

ALICE, BOB = "alice@example.org", "bob"
RUN = "capture-vkfvt"
EXPLODE = "capture-vkfvt-2349931391"


class FakeArchive(ArgoArchive):
    def __init__(self, workflows: list[Workflow]) -> None:
        super().__init__(UNREACHABLE_URL, ("simpipe",), 1)
        self.workflows = workflows
        self.selectors: list[str] = []

    async def list(self, label_selector: str, name: str = "") -> list[Workflow]:
        self.selectors.append(label_selector)
        return [w for w in self.workflows if not name or w["metadata"]["name"] == name]

    async def get(self, uid: str) -> Workflow | None:
        return next((w for w in self.workflows if w["metadata"]["uid"] == uid), None)


class FakeLogs(StepLogs):
    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime | None, str, int]] = []

    async def lines(
        self,
        dry_run: dry_runs_pb2.DryRun,
        node: dry_runs_pb2.DryRunNode,
        since: datetime | None,
        grep: str,
        max_lines: int,
    ) -> list[str]:
        self.asked.append((node.pod_name, since, grep, max_lines))
        return ["a line"]


def archived_run(failed: Workflow) -> Workflow:
    workflow = copy.deepcopy(failed)
    workflow["metadata"].update(name="old-run", uid="0000-old")
    return workflow


class Harness:
    def __init__(self, failed: Workflow) -> None:
        self.model = ReadModel()
        self.archive = FakeArchive([archived_run(failed)])
        self.logs = FakeLogs()
        self.api = ArgoWatcherApi(self.model, self.archive, self.logs, sync_timeout_seconds=0.2)


@pytest.fixture
async def harness(
    failed: Workflow,
) -> AsyncIterator[tuple[Harness, argo_watcher_pb2_grpc.ArgoWatcherAsyncStub]]:
    harness = Harness(failed)
    server = grpc.aio.server()
    argo_watcher_pb2_grpc.add_ArgoWatcherServicer_to_server(harness.api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield harness, argo_watcher_pb2_grpc.ArgoWatcherStub(channel)
    await server.stop(None)
    await harness.archive.close()


# ArgoWatcherAsyncStub exists for type checkers only (the .pyi).
Fixture = tuple[Harness, "argo_watcher_pb2_grpc.ArgoWatcherAsyncStub"]


async def error_of(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_lists_only_the_callers_runs_and_archived_ones_on_request(
    harness: Fixture, running: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([running])
    mine = await stub.ListDryRuns(pb.ListDryRunsRequest(caller=ALICE))
    assert [d.id for d in mine.dry_runs] == [RUN]
    assert len(mine.dry_runs[0].nodes) == 5
    theirs = await stub.ListDryRuns(pb.ListDryRunsRequest(caller=BOB))
    assert list(theirs.dry_runs) == []
    other_project = await stub.ListDryRuns(pb.ListDryRunsRequest(caller=ALICE, project_id="x"))
    assert list(other_project.dry_runs) == []
    everything = await stub.ListDryRuns(pb.ListDryRunsRequest(caller=ALICE, include_archived=True))
    assert sorted((d.id, d.archived) for d in everything.dry_runs) == [
        (RUN, False),
        ("old-run", True),
    ]
    assert h.archive.selectors[-1].startswith("simpipe.io/managed=true,simpipe.io/owner-hash=")


async def test_an_archived_copy_of_a_live_run_is_listed_once(
    harness: Fixture, failed: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([failed])
    h.archive.workflows.append(copy.deepcopy(failed))  # Argo archives a run as it ends
    listed = await stub.ListDryRuns(pb.ListDryRunsRequest(caller=ALICE, include_archived=True))
    assert sorted((d.id, d.archived) for d in listed.dry_runs) == [
        (RUN, False),
        ("old-run", True),
    ]


async def test_get_is_live_first_then_archived_and_hides_other_callers_runs(
    harness: Fixture, running: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([running])
    live = await stub.GetDryRun(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN))
    assert (live.id, live.archived, live.status.progress) == (RUN, False, "1/2")
    archived = await stub.GetDryRun(pb.GetDryRunRequest(caller=ALICE, dry_run_id="old-run"))
    assert archived.archived
    assert len(archived.nodes) == 5
    for caller, run in ((BOB, RUN), (BOB, "old-run"), (ALICE, "no-such-run")):
        error = await error_of(stub.GetDryRun(pb.GetDryRunRequest(caller=caller, dry_run_id=run)))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details() == f"dry run {run} not found"


@pytest.mark.parametrize(
    "request_",
    [
        pb.GetDryRunRequest(caller=ALICE, dry_run_id="Not_A_Name"),
        pb.GetDryRunRequest(caller=ALICE, dry_run_id=""),
        pb.GetDryRunRequest(caller="", dry_run_id=RUN),
    ],
)
async def test_malformed_requests_are_invalid_arguments(
    harness: Fixture, request_: pb.GetDryRunRequest
) -> None:
    _, stub = harness
    error = await error_of(stub.GetDryRun(request_))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (REASON_KEY, "input-validation") in tuple(error.trailing_metadata() or ())


async def test_reads_before_the_first_list_are_unavailable(harness: Fixture) -> None:
    _, stub = harness
    error = await error_of(stub.GetDryRun(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN)))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


async def test_step_logs_only_for_steps_of_the_callers_runs(
    harness: Fixture, failed: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([failed])
    request = pb.GetStepLogRequest(caller=ALICE, dry_run_id=RUN, node_id=EXPLODE, max_lines=5)
    request.since.FromJsonString("2026-11-25T14:16:00Z")
    request.grep = "line"
    assert list((await stub.GetStepLog(request)).lines) == ["a line"]
    pod, since, grep, max_lines = h.logs.asked[-1]
    assert (pod, grep, max_lines) == ("capture-vkfvt-explode-2349931391", "line", 5)
    assert since is not None
    assert since.isoformat() == "2026-11-25T14:16:00+00:00"

    cases = [
        (pb.GetStepLogRequest(caller=ALICE, dry_run_id=RUN, node_id=RUN), "INVALID_ARGUMENT"),
        (pb.GetStepLogRequest(caller=ALICE, dry_run_id=RUN, node_id="x-1"), "NOT_FOUND"),
        (pb.GetStepLogRequest(caller=BOB, dry_run_id=RUN, node_id=EXPLODE), "NOT_FOUND"),
        (pb.GetStepLogRequest(caller=ALICE, dry_run_id=RUN, node_id="a.b"), "INVALID_ARGUMENT"),
        (
            pb.GetStepLogRequest(caller=ALICE, dry_run_id=RUN, node_id=EXPLODE, max_lines=-1),
            "INVALID_ARGUMENT",
        ),
    ]
    for bad, code in cases:
        assert (await error_of(stub.GetStepLog(bad))).code().name == code


async def test_watch_streams_each_change_until_the_run_ends(
    harness: Fixture, pending: Workflow, running: Workflow, failed: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([pending])
    call = stub.WatchDryRun(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN))
    seen = []
    async for dry_run in call:
        seen.append((dry_run.status.phase, dry_run.status.progress))
        if len(seen) == 1:
            h.model.upsert(running)
            h.model.upsert(failed)
    assert seen == [
        (events_pb2.DRY_RUN_PHASE_RUNNING, "0/1"),
        (events_pb2.DRY_RUN_PHASE_RUNNING, "1/2"),
        (events_pb2.DRY_RUN_PHASE_FAILED, "1/2"),
    ]
    assert await call.code() == grpc.StatusCode.OK


async def test_watch_ends_cleanly_when_the_client_cancels(
    harness: Fixture, running: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([running])
    call = stub.WatchDryRun(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN))
    first = await call.read()
    assert isinstance(first, dry_runs_pb2.DryRun)
    call.cancel()
    for _ in range(50):  # the server side leaves its subscription
        if not h.model._subscribers:
            break
        await asyncio.sleep(0.02)
    assert h.model._subscribers == {}


async def test_watching_an_unknown_or_foreign_run_is_not_found(
    harness: Fixture, running: Workflow
) -> None:
    h, stub = harness
    h.model.replace_all([running])
    for caller, run in ((BOB, RUN), (ALICE, "nope")):
        call = stub.WatchDryRun(pb.GetDryRunRequest(caller=caller, dry_run_id=run))
        error = await error_of(call.read())
        assert error.code() == grpc.StatusCode.NOT_FOUND


class FakeLive(LiveWorkflows):
    """The apiserver's copy, for a run the watch has not delivered yet."""

    def __init__(self, workflows: list[Workflow]) -> None:
        self.workflows = {w["metadata"]["name"]: w for w in workflows}
        self.asked: list[str] = []

    async def get(self, name: str) -> Workflow | None:
        self.asked.append(name)
        return self.workflows.get(name)


async def test_a_run_the_watch_has_not_delivered_yet_is_read_from_the_cluster(
    failed: Workflow, running: Workflow
) -> None:
    harness = Harness(failed)
    live = FakeLive([running])
    harness.api.live = live
    harness.model.replace_all([])  # synced, and the new run not in it yet
    found = await harness.api._dry_run(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN))
    assert (found.id, found.owner, found.archived) == (RUN, ALICE, False)
    with pytest.raises(NotFoundError):
        await harness.api._dry_run(pb.GetDryRunRequest(caller=BOB, dry_run_id=RUN))
    # A run the model has is never asked of the cluster.
    harness.model.replace_all([running])
    live.asked.clear()
    await harness.api._dry_run(pb.GetDryRunRequest(caller=ALICE, dry_run_id=RUN))
    assert live.asked == []
    await harness.archive.close()
