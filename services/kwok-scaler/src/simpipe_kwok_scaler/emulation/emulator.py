"""What Argo's executor does inside a real step pod, done for pods on
virtual (KWOK) nodes, where nothing runs:
- the step's WorkflowTaskResult, written as soon as the pod is known to be
  virtual (before KWOK ends it: the controller reads a finished step's
  outputs from it when it sees the pod end);
- daemon steps: held running until Argo lets their node go, then ended.
  Argo ends a daemon by signalling its processes through `exec`, which a
  KWOK pod does not have; KWOK's finishing Stages read the pod's
  simpipe.io/sim-duration again at every change of the pod, so a long one
  holds the daemon and a zero one ends it (with KWOK's own statuses).

Pods on real nodes are never touched: a pod counts as virtual when the node
it is bound to is a KWOK node of our kind, or, before it is bound, when its
required node selector admits only such nodes. Every pod is handled from
the latest state seen, once per pod (restarts find the results they wrote
and go on).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog

from simpipe_kwok_scaler.emulation.branches import branch_values, step_name
from simpipe_kwok_scaler.emulation.daemons import daemon_stop_reason, ran_for
from simpipe_kwok_scaler.emulation.errors import UnusablePodError
from simpipe_kwok_scaler.emulation.kube import EmulationKube
from simpipe_kwok_scaler.emulation.metrics import (
    DAEMONS_STOPPED,
    KUBE_ERRORS,
    PODS_SKIPPED,
    TASK_RESULTS,
)
from simpipe_kwok_scaler.emulation.outputs import (
    emulated_outputs,
    needs_values,
    simulated_values,
)
from simpipe_kwok_scaler.emulation.pods import (
    ANNOTATION_SIM_DAEMON,
    ANNOTATION_SIM_DURATION,
    ANNOTATION_SIM_OUTPUTS,
    ANNOTATION_SIM_RAN,
    ANNOTATION_SIM_STOP,
    DAEMON_END,
    DAEMON_HOLD,
    ENV_TEMPLATE,
    StepPod,
    is_step_pod,
    step_pod,
)
from simpipe_kwok_scaler.emulation.task_result import task_result
from simpipe_kwok_scaler.emulation.template import StepTemplate, step_template

log = structlog.get_logger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 8
# Pods remembered as handled: live pods leave when deleted; this bounds
# what a missed deletion (a watch gap) could leave behind.
MAX_REMEMBERED = 200_000


class EmulationConfig(Protocol):
    simulation_namespace: str
    emulation_node_kind_label: str
    emulation_node_kind: str
    emulation_workers: int
    emulation_max_outputs_bytes: int
    emulation_max_template_bytes: int
    emulation_placeholder: str
    emulation_daemon_check_seconds: float
    emulation_node_cache_size: int


class RunnableEmulationConfig(EmulationConfig, Protocol):
    kubeconfig: Path | None
    emulation_enabled: bool
    emulation_watch_timeout_seconds: int
    emulation_kube_timeout_seconds: float


@dataclass(frozen=True)
class Daemon:
    namespace: str
    pod: str
    workflow: str
    node_id: str
    started_at: datetime | None


class Emulator:
    def __init__(self, settings: EmulationConfig, kube: EmulationKube) -> None:
        self._settings = settings
        self._kube = kube
        self._pool = ThreadPoolExecutor(settings.emulation_workers, "emulation")
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._latest: dict[str, dict[str, Any]] = {}  # pod key -> newest state seen
        self._busy: set[str] = set()  # pod keys a worker is handling
        # pod uid -> its template (None: not to emulate), once handled
        self._handled: OrderedDict[str, StepTemplate | None] = OrderedDict()
        self._attempts: dict[str, int] = {}
        self._node_kinds: OrderedDict[str, str | None] = OrderedDict()
        self._daemons: dict[str, Daemon] = {}  # pod key -> running virtual daemon

    # Called on the event loop by the pod watch.
    def receive(self, pod: dict[str, Any], deleted: bool) -> None:
        if not is_step_pod(pod):
            return
        metadata = pod["metadata"]
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if deleted:
            self._forget(key, str(metadata.get("uid") or ""))
            return
        queued = key in self._latest
        self._latest[key] = pod
        if not queued:
            self._queue.put_nowait(key)

    async def run(self) -> None:
        workers = [
            asyncio.create_task(self._work()) for _ in range(self._settings.emulation_workers)
        ]
        workers.append(asyncio.create_task(self._check_daemons()))
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            if key in self._busy:
                # Another worker has an older state of this pod: it queues
                # the newest again when done (states are handled in order).
                continue
            pod = self._latest.pop(key, None)
            if pod is None:
                continue
            self._busy.add(key)
            try:
                await self._handle(pod)
            except UnusablePodError as error:
                PODS_SKIPPED.labels(error.reason).inc()
                log.warning("step pod not emulated", pod=key, reason=str(error))
                self._remember(str(pod["metadata"].get("uid") or ""), None)
            except Exception as error:  # the apiserver's failures: try again later
                KUBE_ERRORS.inc()
                self._retry_later(key, pod, error)
            finally:
                self._busy.discard(key)
                if key in self._latest:
                    self._queue.put_nowait(key)

    async def _handle(self, raw: dict[str, Any]) -> None:
        settings = self._settings
        pod = step_pod(raw, settings.emulation_node_kind_label)
        if pod.deleting or pod.completed_label:
            self._daemons.pop(pod.key, None)
            return
        if not await self._virtual(pod):
            return
        if pod.uid in self._handled:
            template = self._handled[pod.uid]
        else:
            template = await self._template(pod)
            if template is not None and template.daemon:
                await self._hold_daemon(pod)
            if template is not None and template.reports_outputs(pod.include_script_output):
                await self._report(pod, template)
            self._remember(pod.uid, template)
            self._attempts.pop(pod.uid, None)
        if (
            template is not None
            and template.daemon
            and pod.running_or_before
            and ANNOTATION_SIM_STOP not in pod.annotations
        ):
            self._daemons[pod.key] = Daemon(
                pod.namespace, pod.name, pod.workflow, pod.node_id, pod.started_at
            )
        else:
            self._daemons.pop(pod.key, None)

    async def _virtual(self, pod: StepPod) -> bool:
        kind = self._settings.emulation_node_kind
        if not pod.node_name:
            # Unbound: only a selector that admits nothing but virtual nodes
            # makes it ours now (the earliest moment: KWOK may end it soon
            # after it is bound).
            return pod.selected_node_kind == kind
        return await self._node_kind(pod.node_name) == kind

    async def _node_kind(self, name: str) -> str | None:
        if name in self._node_kinds:
            return self._node_kinds[name]
        label = self._settings.emulation_node_kind_label
        kind = await self._call(self._kube.node_kind, name, label)
        if kind is not None:  # a node not there yet is asked again
            self._node_kinds[name] = kind
            if len(self._node_kinds) > self._settings.emulation_node_cache_size:
                self._node_kinds.popitem(last=False)
        return kind

    async def _template(self, pod: StepPod) -> StepTemplate:
        text: str | None = pod.template_text
        if pod.template_offloaded:
            text = await self._call(
                self._kube.config_map_value, pod.namespace, pod.name, ENV_TEMPLATE
            )
            if text is None:
                raise UnusablePodError("no-template", "the offloaded template's ConfigMap is gone")
        assert text is not None
        return step_template(text, self._settings.emulation_max_template_bytes)

    async def _report(self, pod: StepPod, template: StepTemplate) -> None:
        settings = self._settings
        try:
            values = simulated_values(
                pod.annotations.get(ANNOTATION_SIM_OUTPUTS), settings.emulation_max_outputs_bytes
            )
        except UnusablePodError as error:
            # The step still ends, with its defaults: a missing result would
            # stall or fail the run for a reason that is not the pipeline's.
            PODS_SKIPPED.labels(error.reason).inc()
            log.warning("simulated outputs ignored", pod=pod.key, reason=str(error))
            values = {}
        branches: dict[str, str] = {}
        if needs_values(template, values, pod.include_script_output):
            workflow = await self._call(self._kube.workflow, pod.namespace, pod.workflow)
            if workflow is not None:
                branches = branch_values(workflow, step_name(pod.node_name_annotation))
        outputs = emulated_outputs(
            template, values, pod.include_script_output, settings.emulation_placeholder, branches
        )
        created = await self._call(self._kube.create_task_result, task_result(pod, outputs))
        TASK_RESULTS.labels("created" if created else "existing").inc()

    async def _hold_daemon(self, pod: StepPod) -> None:
        if ANNOTATION_SIM_DAEMON not in pod.annotations:
            held = {ANNOTATION_SIM_DAEMON: "true", ANNOTATION_SIM_DURATION: DAEMON_HOLD}
            await self._call(self._kube.annotate_pod, pod.namespace, pod.name, held)

    async def _check_daemons(self) -> None:
        while True:
            await asyncio.sleep(self._settings.emulation_daemon_check_seconds)
            by_workflow: dict[tuple[str, str], list[Daemon]] = {}
            for daemon in list(self._daemons.values()):
                by_workflow.setdefault((daemon.namespace, daemon.workflow), []).append(daemon)
            for (namespace, name), daemons in by_workflow.items():
                try:
                    workflow = await self._call(self._kube.workflow, namespace, name)
                    for daemon in daemons:
                        reason = daemon_stop_reason(workflow, daemon.node_id)
                        if reason is not None:
                            await self._stop(daemon, reason)
                except Exception as error:
                    KUBE_ERRORS.inc()
                    log.warning("daemon check failed", workflow=name, error=str(error))

    async def _stop(self, daemon: Daemon, reason: str) -> None:
        end = {ANNOTATION_SIM_STOP: reason, ANNOTATION_SIM_DURATION: DAEMON_END}
        ran = ran_for(daemon.started_at, datetime.now(UTC))
        if ran is not None:
            end[ANNOTATION_SIM_RAN] = ran
        await self._call(self._kube.annotate_pod, daemon.namespace, daemon.pod, end)
        self._daemons.pop(f"{daemon.namespace}/{daemon.pod}", None)
        DAEMONS_STOPPED.inc()
        log.info("virtual daemon ended", pod=daemon.pod, reason=reason)

    def _retry_later(self, key: str, pod: dict[str, Any], error: Exception) -> None:
        uid = str(pod["metadata"].get("uid") or "")
        attempt = self._attempts.get(uid, 0) + 1
        if attempt > MAX_ATTEMPTS:
            self._attempts.pop(uid, None)
            PODS_SKIPPED.labels("kube-errors").inc()
            log.error("step pod not emulated: the API kept failing", pod=key, error=str(error))
            return
        self._attempts[uid] = attempt
        log.warning(
            "emulation call failed; trying again", pod=key, attempt=attempt, error=str(error)
        )
        loop = asyncio.get_running_loop()
        loop.call_later(min(0.25 * 2**attempt, 15.0), self._requeue, key, pod)

    def _requeue(self, key: str, pod: dict[str, Any]) -> None:
        if key not in self._latest:  # a newer state queued meanwhile wins
            self._latest[key] = pod
            self._queue.put_nowait(key)

    def _remember(self, uid: str, template: StepTemplate | None) -> None:
        self._handled[uid] = template
        if len(self._handled) > MAX_REMEMBERED:
            self._handled.popitem(last=False)

    def _forget(self, key: str, uid: str) -> None:
        self._latest.pop(key, None)
        self._handled.pop(uid, None)
        self._attempts.pop(uid, None)
        self._daemons.pop(key, None)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
