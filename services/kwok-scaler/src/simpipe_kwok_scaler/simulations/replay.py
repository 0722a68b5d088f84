"""The simulated timeline, replayed from what the cluster decided.

Wall time on the apiserver includes orchestration that a time scale would
multiply (Argo noticing a step ended and creating the next pod, the
scheduler's retries). So the timeline is not wall time x scale: it replays
the cluster's own decisions causally, in simulated time:

- a pod starts when what made Argo create it ended (the pods before it in
  its Workflow's graph; failing that, the latest pod of its run that had
  finished before it was created; the copy's offset for a run's first
  pods), or, if it had to wait for a node (the scheduler found none),
  when the pod whose finish freed the node it was then bound to ended
  (the latest pod on that node that finished before the binding), whichever
  is later;
- it runs for its step's figure (simulated seconds), or, for a step without
  one, for its observed run time x the time scale.

What the replay leaves out, wall x scale - simulated, is reported apart as
orchestration overhead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from simpipe_kwok_scaler.simulations.observations import PodObservation


@dataclass(frozen=True)
class Pool:
    name: str
    # Allocatable summed over the pool's nodes.
    cpu: float
    memory: float
    # Each node's allocatable (unbounded when not known).
    node_cpu: float = math.inf
    node_memory: float = math.inf
    node_pods: float = math.inf


@dataclass
class Occupancy:
    """What each node holds over simulated time: (start, end, cpu, memory)."""

    held: dict[str, list[tuple[float, float, float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def fits(self, node: str, at: float, run: float, pod: PodObservation, pool: Pool) -> bool:
        intervals = self.held[node]
        # Usage only grows where an interval starts: check there and at `at`.
        checks = [at] + [s for s, _, _, _ in intervals if at < s < at + run]
        for moment in checks:
            cpu = memory = 0.0
            count = 0
            for start, end, c, m in intervals:
                if start <= moment < end or (start == moment and end == moment):
                    cpu += c
                    memory += m
                    count += 1
            if (
                count + 1 > pool.node_pods
                or cpu + pod.cpu_request > pool.node_cpu + 1e-9
                or memory + pod.memory_request > pool.node_memory + 1e-9
            ):
                return False
        return True

    def earliest(
        self, nodes: Sequence[str], ready: float, run: float, pod: PodObservation, pool: Pool
    ) -> tuple[float, str]:
        """The earliest time from `ready` some node holds the pod for `run`
        (its own node first on a tie), and that node."""
        best: tuple[float, str] | None = None
        for node in nodes:
            moments = sorted({ready} | {e for _, e, _, _ in self.held[node] if e > ready})
            for moment in moments:
                if best is not None and moment >= best[0]:
                    break
                if self.fits(node, moment, run, pod, pool):
                    best = (moment, node)
                    break
        return best if best is not None else (ready, nodes[0])

    def add(self, node: str, start: float, end: float, pod: PodObservation) -> None:
        self.held[node].append((start, end, pod.cpu_request, pod.memory_request))


@dataclass
class TimedStep:
    pod: PodObservation
    copy: int
    # Simulated seconds from the simulation's start; None if never run.
    ready: float
    started: float | None
    finished: float | None
    queued: float
    run: float
    phase: str
    pool: str


@dataclass
class PoolSeries:
    pool: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    memory: list[float] = field(default_factory=list)
    mean_cpu: float = 0.0
    peak_cpu: float = 0.0


@dataclass
class Timeline:
    steps: list[TimedStep]
    makespan: float
    overhead: float
    peak_pending: int
    pools: list[PoolSeries]


def _phase(pod: PodObservation) -> str:
    if pod.finished is not None:
        return "Succeeded" if pod.phase == "Succeeded" else pod.phase or "Failed"
    if not pod.node:
        return "Unschedulable" if pod.unschedulable else "Pending"
    return "Running"


def replay(
    pods: Sequence[PodObservation],
    *,
    seconds: Mapping[str, float],
    time_scale: float,
    copies: Mapping[str, tuple[int, float]],
    node_pools: Mapping[str, str],
    pools: Sequence[Pool],
    wall_start: float | None = None,
    predecessors: Mapping[str, Collection[str]] | None = None,
) -> Timeline:
    """`seconds`: each template's simulated run time; `copies`: each run's
    (copy number, simulated offset); `node_pools`: node name -> pool;
    `predecessors`: for the pods whose Workflow told its graph, the pods
    (names) that had to end before Argo created each: it then starts at the
    latest of their ends (none: the copy's offset). Without it, the latest
    pod of its run that finished before it was created stands in."""
    ordered = sorted(
        (p for p in pods if p.created is not None and p.workflow in copies),
        key=lambda p: (p.scheduled if p.scheduled is not None else math.inf, p.created or 0.0),
    )
    ends: dict[str, float] = {}
    pools_by_name = {
        p.name: p
        for p in pools
        if math.isfinite(p.node_pods) or math.isfinite(p.node_cpu) or math.isfinite(p.node_memory)
    }
    nodes_by_pool: dict[str, list[str]] = defaultdict(list)
    for node_name, pool_name in sorted(node_pools.items()):
        nodes_by_pool[pool_name].append(node_name)
    occupancy = Occupancy()
    finished_by_run: dict[str, list[PodObservation]] = defaultdict(list)
    finished_by_node: dict[str, list[PodObservation]] = defaultdict(list)
    steps: list[TimedStep] = []
    # Pods in wall order of their finish, to find "finished before" quickly
    # enough for 10^4 pods: each run's and node's pods are few per lookup.
    for pod in sorted(
        (p for p in ordered if p.finished is not None), key=lambda p: p.finished or 0.0
    ):
        finished_by_run[pod.workflow].append(pod)
        if pod.node:
            finished_by_node[pod.node].append(pod)

    def latest_end(candidates: list[PodObservation], before: float) -> float | None:
        best: float | None = None
        best_wall = -math.inf
        for other in candidates:
            if other.finished is None or other.finished > before:
                break
            if other.name in ends and other.finished >= best_wall:
                best_wall = other.finished
                best = ends[other.name]
        return best

    for pod in ordered:
        copy, offset = copies[pod.workflow]
        assert pod.created is not None
        before = (predecessors or {}).get(pod.name)
        if before is not None and all(name in ends for name in before):
            cause = max((ends[name] for name in before), default=None)
        else:
            cause = latest_end(finished_by_run[pod.workflow], pod.created)
        ready = max(offset, cause) if cause is not None else offset
        started: float | None = None
        finished: float | None = None
        queued = 0.0
        run = 0.0
        if pod.scheduled is not None:
            if pod.template in seconds:
                run = seconds[pod.template]
            elif pod.running is not None and pod.finished is not None:
                run = max(0.0, pod.finished - pod.running) * time_scale
            pool = pools_by_name.get(node_pools.get(pod.node, ""))
            start = ready
            node = pod.node
            if pool is not None:
                # The cluster chose which pod went next; when, in simulated
                # time, is when a node of its pool could first hold it (the
                # scheduler's retry delays would otherwise pick the node).
                own_first = [pod.node] + [n for n in nodes_by_pool[pool.name] if n != pod.node]
                start, node = occupancy.earliest(own_first, ready, run, pod, pool)
            elif pod.unschedulable:
                freed = latest_end(finished_by_node[pod.node], pod.scheduled)
                if freed is not None:
                    start = max(ready, freed)
            queued = start - ready
            started = start
            if pod.finished is not None:
                finished = start + run
                ends[pod.name] = finished
            occupancy.add(node, start, finished if finished is not None else math.inf, pod)
        steps.append(
            TimedStep(
                pod=pod, copy=copy, ready=ready, started=started, finished=finished,
                queued=queued, run=run, phase=_phase(pod), pool=node_pools.get(pod.node, ""),
            )
        )  # fmt: skip
    makespan = max((s.finished for s in steps if s.finished is not None), default=0.0)
    for step in steps:
        # A pod never bound waited from when it was ready to the end.
        if step.started is None:
            step.queued = max(0.0, makespan - step.ready)
    overhead = 0.0
    last_wall = max((p.finished for p in ordered if p.finished is not None), default=None)
    if wall_start is not None and last_wall is not None:
        overhead = max(0.0, (last_wall - wall_start) * time_scale - makespan)
    return Timeline(
        steps=steps,
        makespan=makespan,
        overhead=overhead,
        peak_pending=_peak_pending(steps),
        pools=[_utilisation(steps, pool, makespan) for pool in pools],
    )


def _peak_pending(steps: Sequence[TimedStep]) -> int:
    """Most pods waiting for a node at once, in simulated time."""
    changes: list[tuple[float, int]] = []
    for step in steps:
        if step.queued > 0:
            changes.append((step.ready, 1))
            changes.append((step.ready + step.queued, -1))
    peak = pending = 0
    # At one instant, pods leaving the queue go before pods joining it.
    for _, change in sorted(changes):
        pending += change
        peak = max(peak, pending)
    return peak


def _utilisation(steps: Sequence[TimedStep], pool: Pool, makespan: float) -> PoolSeries:
    """The pool's requested share of CPU and memory over simulated time:
    a point at each start and end."""
    changes: dict[float, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for step in steps:
        if step.pool != pool.name or step.started is None or step.finished is None:
            continue
        for when, sign in ((step.started, 1.0), (step.finished, -1.0)):
            changes[when][0] += sign * step.pod.cpu_request
            changes[when][1] += sign * step.pod.memory_request
    series = PoolSeries(pool.name, [0.0], [0.0], [0.0])
    cpu = memory = 0.0
    for when in sorted(changes):
        cpu += changes[when][0]
        memory += changes[when][1]
        share_cpu = max(0.0, cpu / pool.cpu) if pool.cpu > 0 else 0.0
        share_memory = max(0.0, memory / pool.memory) if pool.memory > 0 else 0.0
        if series.times[-1] == when:
            series.cpu[-1], series.memory[-1] = share_cpu, share_memory
        else:
            series.times.append(when)
            series.cpu.append(share_cpu)
            series.memory.append(share_memory)
    area = 0.0
    for i, when in enumerate(series.times):
        until = series.times[i + 1] if i + 1 < len(series.times) else makespan
        area += series.cpu[i] * max(0.0, until - when)
    series.mean_cpu = area / makespan if makespan > 0 else 0.0
    series.peak_cpu = max(series.cpu)
    return series


def pod_predecessors(nodes: Mapping[str, tuple[str, Sequence[str]]]) -> dict[str, set[str]]:
    """For each Pod node of an Argo Workflow's graph (node id -> (type,
    children)), the Pod nodes right before it: its parents, looking through
    the nodes that are not pods (step groups, DAGs, task groups, retries)."""
    parents: dict[str, list[str]] = defaultdict(list)
    for node_id, (_, children) in nodes.items():
        for child in children:
            parents[child].append(node_id)
    found: dict[str, set[str]] = {}
    for node_id, (kind, _) in nodes.items():
        if kind != "Pod":
            continue
        before: set[str] = set()
        seen: set[str] = set()
        stack = list(parents[node_id])
        while stack:
            other = stack.pop()
            if other in seen:
                continue
            seen.add(other)
            if nodes.get(other, ("", ()))[0] == "Pod":
                before.add(other)
            else:
                stack.extend(parents[other])
        found[node_id] = before
    return found
