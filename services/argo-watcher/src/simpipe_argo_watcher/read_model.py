"""The in-memory read model: every watched Workflow as a simpipe.v1.DryRun, kept
current by the watch, with per-run subscribers for WatchDryRun."""

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from simpipe.v1 import dry_runs_pb2
from simpipe_argo_watcher.convert import DEFAULT_ARTIFACT_BUCKET, Workflow, to_dry_run


@dataclass(frozen=True)
class Snapshot:
    """A dry run as the model holds it, with the Workflow's resourceVersion."""

    dry_run: dry_runs_pb2.DryRun
    resource_version: str


@dataclass(frozen=True)
class Change:
    """One Workflow changed: `previous` is None when it is new to the model,
    `current` is None when it was deleted."""

    previous: Snapshot | None
    current: Snapshot | None


# What a WatchDryRun subscriber receives; None: the dry run was deleted.
Update = dry_runs_pb2.DryRun | None


class ReadModel:
    def __init__(
        self, artifact_bucket: str = DEFAULT_ARTIFACT_BUCKET, namespaces: tuple[str, ...] = ()
    ) -> None:
        # Where the steps' artifacts are when their Workflow does not say.
        self.artifact_bucket = artifact_bucket
        self._runs: dict[str, Snapshot] = {}
        self._subscribers: dict[str, set[asyncio.Queue[Update]]] = {}
        # Set once the first list of Workflows of every namespace watched is
        # in: until then an empty model would answer "not found" for runs
        # that exist.
        self.synced = asyncio.Event()
        self._unlisted = set(namespaces)

    def get(self, name: str) -> dry_runs_pb2.DryRun | None:
        snapshot = self._runs.get(name)
        return snapshot.dry_run if snapshot else None

    def snapshots(self) -> list[Snapshot]:
        return list(self._runs.values())

    def upsert(self, workflow: Workflow) -> Change | None:
        """An added or modified Workflow; None when the model already has this version."""
        metadata = workflow.get("metadata") or {}
        name, version = str(metadata["name"]), str(metadata.get("resourceVersion", ""))
        previous = self._runs.get(name)
        if previous is not None and previous.resource_version == version:
            return None
        current = Snapshot(to_dry_run(workflow, default_bucket=self.artifact_bucket), version)
        self._runs[name] = current
        self._notify(name, current.dry_run)
        return Change(previous, current)

    def delete(self, name: str, namespace: str = "") -> Change | None:
        """`name` is gone (from `namespace`, when given: a run of that name
        elsewhere stays)."""
        previous = self._runs.get(name)
        if previous is None or (namespace and previous.dry_run.namespace != namespace):
            return None
        del self._runs[name]
        self._notify(name, None)
        return Change(previous, None)

    def replace_all(self, workflows: Iterable[Workflow], namespace: str = "") -> list[Change]:
        """A fresh list (of `namespace`, when given: the runs of other
        namespaces stay): upserts what it holds, deletes what it no longer
        holds."""
        listed = {str(w["metadata"]["name"]): w for w in workflows}
        changes = [
            self.delete(name, namespace)
            for name, snapshot in list(self._runs.items())
            if name not in listed and (not namespace or snapshot.dry_run.namespace == namespace)
        ]
        changes += [self.upsert(workflow) for workflow in listed.values()]
        self._unlisted.discard(namespace)
        if not self._unlisted or not namespace:
            self.synced.set()
        return [change for change in changes if change is not None]

    @contextmanager
    def subscribe(self, name: str) -> Iterator[asyncio.Queue[Update]]:
        """Every later change of `name`, in order, until the context is left."""
        queue: asyncio.Queue[Update] = asyncio.Queue()
        self._subscribers.setdefault(name, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers[name]
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[name]

    def _notify(self, name: str, update: Update) -> None:
        for queue in self._subscribers.get(name, ()):
            queue.put_nowait(update)
