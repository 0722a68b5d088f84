"""The ArgoWatcher gRPC service: the read model (live), Argo's archive
(finished runs whose Workflow is gone) and step logs, scoped by caller.

A run another caller owns answers NOT_FOUND exactly like a run that does not
exist, so ids of other users' runs cannot be probed.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC

from simpipe.v1 import argo_watcher_pb2, argo_watcher_pb2_grpc, dry_runs_pb2, events_pb2
from simpipe_argo_watcher import ids
from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_argo_watcher.convert import Workflow, to_dry_run
from simpipe_argo_watcher.live_workflows import LiveWorkflows
from simpipe_argo_watcher.logs import StepLogs
from simpipe_argo_watcher.read_model import ReadModel
from simpipe_common.errors import (
    Context,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
    abort,
    typed_errors,
)
from simpipe_common.ownership import owner_of, owner_selector
from simpipe_events import contract

pb = argo_watcher_pb2
# A step whose container has not started has no log to follow yet.
NOT_STARTED = frozenset({events_pb2.NODE_PHASE_UNSPECIFIED, events_pb2.NODE_PHASE_PENDING})
# Lines in one streamed message (a message stays far below gRPC's bound).
FOLLOW_BATCH_LINES = 1000


@dataclass
class ArgoWatcherApi(argo_watcher_pb2_grpc.ArgoWatcherServicer):
    model: ReadModel
    archive: ArgoArchive
    logs: StepLogs
    sync_timeout_seconds: float
    live: LiveWorkflows | None = None

    @typed_errors
    async def ListDryRuns(
        self, request: pb.ListDryRunsRequest, context: Context
    ) -> pb.ListDryRunsResponse:
        caller = ids.caller(request.caller)
        project = ids.project_id(request.project_id)
        await self._synced()
        found = [
            dry_run
            for snapshot in self.model.snapshots()
            if _visible(dry_run := snapshot.dry_run, caller, project)
        ]
        if request.include_archived:
            live = {dry_run.uid for dry_run in found}
            selector = owner_selector(caller, project or None)
            found += [
                dry_run
                for workflow in await self.archive.list(selector)
                if _visible(dry_run := self._archived(workflow), caller, project)
                and dry_run.uid not in live
            ]
        found.sort(key=lambda d: (d.created_at.ToDatetime(), d.id), reverse=True)
        return pb.ListDryRunsResponse(dry_runs=found)

    @typed_errors
    async def GetDryRun(
        self, request: pb.GetDryRunRequest, context: Context
    ) -> dry_runs_pb2.DryRun:
        return await self._dry_run(request)

    @typed_errors
    async def GetStepLog(
        self, request: pb.GetStepLogRequest, context: Context
    ) -> pb.GetStepLogResponse:
        dry_run, node = await self._step(request)
        return pb.GetStepLogResponse(lines=await self._lines_so_far(request, dry_run, node))

    async def FollowStepLog(
        self, request: pb.GetStepLogRequest, context: Context
    ) -> AsyncIterator[pb.GetStepLogResponse]:
        try:
            dry_run, node = await self._step(request)
        except ServiceError as error:
            await abort(context, error)
        # Subscribed before looking again: no change of the step falls in between.
        with self.model.subscribe(dry_run.id) as updates:
            while not dry_run.archived and node.phase in NOT_STARTED:
                update = await updates.get()
                if update is None:  # the run was deleted
                    return
                dry_run = update
                node = next((n for n in dry_run.nodes if n.id == node.id), node)
        try:
            if dry_run.archived or node.phase in contract.TERMINAL_NODE_PHASES:
                lines = await self._lines_so_far(request, dry_run, node)
                for start in range(0, len(lines), FOLLOW_BATCH_LINES):
                    yield pb.GetStepLogResponse(lines=lines[start : start + FOLLOW_BATCH_LINES])
                return
            namespace = dry_run.namespace or self.logs.namespace
            async for batch in self.logs.follow(namespace, node.pod_name):
                for start in range(0, len(batch), FOLLOW_BATCH_LINES):
                    yield pb.GetStepLogResponse(lines=batch[start : start + FOLLOW_BATCH_LINES])
        except ServiceError as error:
            await abort(context, error)

    async def _step(
        self, request: pb.GetStepLogRequest
    ) -> tuple[dry_runs_pb2.DryRun, dry_runs_pb2.DryRunNode]:
        """The caller's run and its step the request names; refused otherwise."""
        node_id = ids.node_id(request.node_id)
        if request.max_lines < 0:
            raise InvalidInputError("max_lines must be 0 (all) or more")
        dry_run = await self._dry_run(
            pb.GetDryRunRequest(caller=request.caller, dry_run_id=request.dry_run_id)
        )
        node = next((n for n in dry_run.nodes if n.id == node_id), None)
        if node is None:
            raise NotFoundError(f"dry run {dry_run.id} has no step {node_id}")
        if node.type != "Pod":
            raise InvalidInputError(
                f"node {node_id} is a {node.type} node, not a step: only steps have logs"
            )
        return dry_run, node

    async def _lines_so_far(
        self,
        request: pb.GetStepLogRequest,
        dry_run: dry_runs_pb2.DryRun,
        node: dry_runs_pb2.DryRunNode,
    ) -> list[str]:
        since = request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else None
        return await self.logs.lines(dry_run, node, since, request.grep, request.max_lines)

    async def WatchDryRun(
        self, request: pb.GetDryRunRequest, context: Context
    ) -> AsyncIterator[dry_runs_pb2.DryRun]:
        try:
            first = await self._dry_run(request)
        except ServiceError as error:
            await abort(context, error)
        if first.archived:
            yield first  # archived runs have ended: nothing follows
            return
        # Subscribed before reading the model again: no change falls in between.
        with self.model.subscribe(first.id) as updates:
            current = self.model.get(first.id) or first
            while True:
                yield current
                if current.status.phase in contract.TERMINAL_RUN_PHASES:
                    return
                update = await updates.get()
                if update is None:  # the Workflow was deleted
                    return
                current = update

    def _archived(self, workflow: Workflow) -> dry_runs_pb2.DryRun:
        return to_dry_run(workflow, archived=True, default_bucket=self.model.artifact_bucket)

    async def _synced(self) -> None:
        try:
            await asyncio.wait_for(self.model.synced.wait(), self.sync_timeout_seconds)
        except TimeoutError:
            raise UnavailableError(
                "the dry runs are not known yet: the Kubernetes API has not answered the watch"
            ) from None

    async def _dry_run(self, request: pb.GetDryRunRequest) -> dry_runs_pb2.DryRun:
        caller = ids.caller(request.caller)
        name = ids.dry_run_id(request.dry_run_id)
        await self._synced()
        live = self.model.get(name)
        if live is not None:
            if live.owner == caller:
                return live
            raise _not_found(name)
        # Not seen by the watch yet: created a moment ago, perhaps.
        fresh = await self.live.get(name) if self.live is not None else None
        if fresh is not None:
            if owner_of(fresh) == caller:
                return to_dry_run(fresh, default_bucket=self.model.artifact_bucket)
            raise _not_found(name)
        archived = [
            workflow
            for workflow in await self.archive.list(owner_selector(caller), name=name)
            if owner_of(workflow) == caller
        ]
        if not archived:
            raise _not_found(name)
        # A name can be reused after a delete: the newest run is the one meant.
        newest = max(archived, key=lambda w: str(w["metadata"].get("creationTimestamp", "")))
        whole = await self.archive.get(str(newest["metadata"]["uid"]))
        return self._archived(whole or newest)


def _visible(dry_run: dry_runs_pb2.DryRun, caller: str, project: str) -> bool:
    return dry_run.owner == caller and (not project or dry_run.project_id == project)


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"dry run {name} not found")
