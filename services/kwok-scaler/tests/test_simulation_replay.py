"""The replay of what the cluster did into simulated time, on analytic
scenarios: a stand-in cluster produces wall-clock observations with
orchestration delays (Argo's reaction, the scheduler's retry) at a time
scale, and the replay must recover the analytic makespan whatever the
delays and the scale."""

import heapq
import itertools
from collections.abc import Mapping, Sequence

import pytest

from simpipe_kwok_scaler.simulations.observations import PodObservation
from simpipe_kwok_scaler.simulations.replay import Pool, Timeline, pod_predecessors, replay


def cluster(
    steps: Mapping[str, tuple[float, Sequence[str]]],
    *,
    nodes: int,
    scale: float,
    argo_delay: float,
    scheduler_delay: float,
    run: str = "sim-0",
    backoff: float = 0.0,
) -> list[PodObservation]:
    """Wall-clock observations of `steps` (name -> (simulated seconds,
    dependencies)) on `nodes` one-pod nodes: Argo creates a step's pod
    `argo_delay` after its last dependency finished; the scheduler binds a
    waiting pod `scheduler_delay` after a node frees up (and marks it
    unschedulable meanwhile); KWOK runs it for its seconds / scale. With
    `backoff`, waiting pods are only retried every `backoff` seconds, onto
    the most recently freed node (as the scheduler's backoff queue does),
    so nodes idle while pods wait, and the cluster's node choices are not
    those of the simulated world."""
    pods: dict[str, PodObservation] = {}
    free = [f"node-{i}" for i in range(nodes)]
    waiting: list[str] = []
    events: list[tuple[float, int, str, str]] = []
    counter = itertools.count()
    done: set[str] = set()

    def create(name: str, at: float) -> None:
        pods[name] = PodObservation(
            name=name, workflow=run, template=name, display_name=name, created=at,
            cpu_request=1.0, memory_request=1.0,
        )  # fmt: skip
        heapq.heappush(events, (at, next(counter), "try", name))

    def bind(name: str, node: str, at: float) -> None:
        pod = pods[name]
        pod.node, pod.scheduled, pod.running = node, at, at + 0.01
        finish = pod.running + steps[name][0] / scale
        heapq.heappush(events, (finish, next(counter), "finish", name))

    for name, (_, deps) in steps.items():
        if not deps:
            create(name, 0.05 * len(pods) / 20)
    while events:
        at, _, kind, name = heapq.heappop(events)
        if kind == "try":
            if free:
                bind(name, free.pop(0), at + 0.02)
            else:
                pods[name].unschedulable = "0/4 nodes are available: 4 Too many pods."
                waiting.append(name)
        elif kind == "finish":
            pod = pods[name]
            pod.finished, pod.phase = at, "Succeeded"
            done.add(name)
            if waiting and not backoff:
                bind(waiting.pop(0), pod.node, at + scheduler_delay)
            else:
                free.append(pod.node)
                if waiting:
                    retry = (int(at / backoff) + 1) * backoff
                    heapq.heappush(events, (retry, next(counter), "retry", ""))
            for other, (_, deps) in steps.items():
                if other not in pods and deps and all(d in done for d in deps):
                    create(other, at + argo_delay)
        elif kind == "retry":
            # One pod per retry (each pod has its own backoff), onto the
            # first node by name (as a scorer with a favourite would): the
            # others idle meanwhile.
            if waiting and free:
                free.sort()
                bind(waiting.pop(0), free.pop(0), at)
            if waiting and free:
                heapq.heappush(events, (at + backoff / 3, next(counter), "retry", ""))
    return list(pods.values())


def replayed(
    steps: Mapping[str, tuple[float, Sequence[str]]],
    nodes: int,
    scale: float,
    backoff: float = 0.0,
) -> Timeline:
    observed = cluster(
        steps, nodes=nodes, scale=scale, argo_delay=0.8, scheduler_delay=0.4, backoff=backoff
    )
    return replay(
        observed,
        seconds={name: seconds for name, (seconds, _) in steps.items()},
        time_scale=scale,
        copies={"sim-0": (0, 0.0)},
        node_pools={f"node-{i}": "small" for i in range(nodes)},
        pools=[Pool("small", float(nodes), float(nodes), 1.0, 1.0, 1)],
        wall_start=0.0,
    )


SCALES = [1.0, 10.0]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("backoff", [2.5, 7.0])
def test_scheduler_backoff_does_not_stretch_the_simulated_time(
    scale: float, backoff: float
) -> None:
    """Pods retried late, onto whichever node freed last, while other nodes
    idle: the simulated makespan is still the analytic one."""
    steps: dict[str, tuple[float, Sequence[str]]] = {"start": (10.0, ())}
    steps |= {f"f{i}": (10.0, ("start",)) for i in range(40)}
    steps["join"] = (10.0, tuple(f"f{i}" for i in range(40)))
    timeline = replayed(steps, 4, scale, backoff)
    assert timeline.makespan == pytest.approx(120.0)
    independent = replayed({f"s{i}": (20.0, ()) for i in range(20)}, 4, scale, backoff)
    assert independent.makespan == pytest.approx(100.0)


@pytest.mark.parametrize("scale", SCALES)
def test_twenty_independent_steps_on_four_nodes_take_five_rounds(scale: float) -> None:
    steps = {f"s{i}": (20.0, ()) for i in range(20)}
    timeline = replayed(steps, 4, scale)
    assert timeline.makespan == pytest.approx(100.0)
    # The orchestration's delays are left out, and reported apart.
    assert timeline.overhead > 0
    queued = sorted(s.queued for s in timeline.steps)
    assert queued == pytest.approx([0.0] * 4 + [20.0] * 4 + [40.0] * 4 + [60.0] * 4 + [80.0] * 4)
    assert timeline.peak_pending == 16
    [pool] = timeline.pools
    assert pool.peak_cpu == pytest.approx(1.0)
    assert pool.mean_cpu == pytest.approx(1.0)


@pytest.mark.parametrize("scale", SCALES)
def test_a_chain_of_five_takes_the_sum_of_its_steps(scale: float) -> None:
    steps = {f"c{i}": (10.0, (f"c{i - 1}",) if i else ()) for i in range(5)}
    timeline = replayed(steps, 4, scale)
    assert timeline.makespan == pytest.approx(50.0)
    assert all(s.queued == 0 for s in timeline.steps)
    assert timeline.peak_pending == 0
    starts = sorted(s.started or 0.0 for s in timeline.steps)
    assert starts == pytest.approx([0.0, 10.0, 20.0, 30.0, 40.0])


@pytest.mark.parametrize("scale", SCALES)
def test_a_fan_out_of_forty_on_four_nodes_queues_in_ten_rounds(scale: float) -> None:
    steps: dict[str, tuple[float, Sequence[str]]] = {"start": (5.0, ())}
    steps |= {f"f{i}": (10.0, ("start",)) for i in range(40)}
    steps["join"] = (5.0, tuple(f"f{i}" for i in range(40)))
    timeline = replayed(steps, 4, scale)
    assert timeline.makespan == pytest.approx(5.0 + 10 * 10.0 + 5.0)
    fan = [s for s in timeline.steps if s.pod.name.startswith("f")]
    assert max(s.queued for s in fan) == pytest.approx(90.0)
    assert sum(s.queued for s in fan) == pytest.approx(4 * 10.0 * sum(range(10)))
    assert timeline.peak_pending == 36


def test_a_step_never_scheduled_waits_to_the_end_and_says_why() -> None:
    pods = [
        PodObservation(
            name="a", workflow="sim-0", template="a", created=0.0, scheduled=0.1,
            running=0.1, finished=2.1, node="n", phase="Succeeded",
        ),
        PodObservation(
            name="big", workflow="sim-0", template="big", created=0.0,
            unschedulable="0/1 nodes are available: 1 Insufficient cpu.",
        ),
    ]  # fmt: skip
    timeline = replay(
        pods, seconds={"a": 20.0, "big": 5.0}, time_scale=10.0,
        copies={"sim-0": (0, 0.0)}, node_pools={"n": "p"}, pools=[Pool("p", 1.0, 1.0)],
    )  # fmt: skip
    big = next(s for s in timeline.steps if s.pod.name == "big")
    assert (big.phase, big.started, big.queued) == ("Unschedulable", None, 20.0)
    assert timeline.makespan == 20.0


def test_copies_start_at_their_offsets_and_steps_without_figures_use_their_wall_time() -> None:
    pods = [
        PodObservation(
            name=f"p{k}", workflow=f"sim-{k}", template="t", created=k * 1.0 + 0.3,
            scheduled=k * 1.0 + 0.4, running=k * 1.0 + 0.5, finished=k * 1.0 + 1.5,
            node=f"n{k}", phase="Succeeded",
        )
        for k in range(3)
    ]  # fmt: skip
    timeline = replay(
        pods, seconds={}, time_scale=10.0,
        copies={f"sim-{k}": (k, k * 10.0) for k in range(3)},
        node_pools={}, pools=[],
    )  # fmt: skip
    assert [(s.copy, s.started, s.finished) for s in timeline.steps] == [
        (0, 0.0, 10.0), (1, 10.0, 20.0), (2, 20.0, 30.0),
    ]  # fmt: skip
    assert timeline.makespan == 30.0


def test_a_join_starts_after_the_longest_of_its_branches_by_the_workflows_graph() -> None:
    # a (30 s) and b (10 s) in parallel, then join; b's pod came late in
    # wall time (orchestration), so it finished last on the wall clock.
    def pod(name: str, created: float, scheduled: float, finished: float) -> PodObservation:
        return PodObservation(
            name=name, workflow="sim-0", template=name, node_id=f"id-{name}",
            created=created, scheduled=scheduled, running=scheduled, finished=finished,
            node=f"n-{name}", phase="Succeeded",
        )  # fmt: skip

    pods = [pod("a", 0.0, 0.1, 3.1), pod("b", 0.0, 2.5, 3.5), pod("join", 3.8, 3.9, 4.9)]
    graph = {
        "dag": ("DAG", ["id-a", "id-b"]),
        "id-a": ("Pod", ["id-join"]),
        "id-b": ("Pod", ["id-join"]),
        "id-join": ("Pod", []),
    }
    before = pod_predecessors(graph)
    assert before == {"id-a": set(), "id-b": set(), "id-join": {"id-a", "id-b"}}
    given = {
        "seconds": {"a": 30.0, "b": 10.0, "join": 10.0}, "time_scale": 10.0,
        "copies": {"sim-0": (0, 0.0)}, "node_pools": {}, "pools": [],
    }  # fmt: skip
    by_graph = replay(
        pods,
        predecessors={"a": set(), "b": set(), "join": {"a", "b"}},
        **given,  # type: ignore[arg-type]
    )
    assert by_graph.makespan == 40.0
    # Without the graph, the last pod to finish on the wall clock stands in:
    # the join would start when b ended.
    guessed = replay(pods, **given)  # type: ignore[arg-type]
    assert [s.finished for s in guessed.steps if s.pod.name == "join"] == [20.0]


def test_steps_chain_through_their_step_groups() -> None:
    graph = {
        "wf": ("Steps", ["g0"]),
        "g0": ("StepGroup", ["p0"]),
        "p0": ("Pod", ["g1"]),
        "g1": ("StepGroup", ["p1", "p2"]),
        "p1": ("Pod", ["g2"]),
        "p2": ("Pod", ["g2"]),
        "g2": ("StepGroup", ["p3"]),
        "p3": ("Pod", []),
    }
    assert pod_predecessors(graph) == {
        "p0": set(), "p1": {"p0"}, "p2": {"p0"}, "p3": {"p1", "p2"},
    }  # fmt: skip


def test_a_pod_bound_late_onto_a_busy_node_while_another_idled_starts_when_a_node_was_free() -> (
    None
):
    """What the stack did in a fan-out: the scheduler retried a waiting pod
    late (its backoff) and bound it after another pod on the same node,
    while a second node had been idle for a while. In simulated time it
    starts when the first node was free."""

    def pod(
        name: str, node: str, scheduled: float, finished: float, waited: bool
    ) -> PodObservation:
        return PodObservation(
            name=name, workflow="sim-0", template="t", created=0.0, scheduled=scheduled,
            running=scheduled, finished=finished, node=node, phase="Succeeded",
            unschedulable="0/2 nodes are available: 2 Too many pods." if waited else "",
        )  # fmt: skip

    pods = [
        pod("p1", "a", 0.1, 10.1, False),
        pod("p2", "b", 0.1, 10.1, False),
        pod("p3", "a", 10.4, 20.4, True),
        # b idles from 10.1; p4 is only retried at 25, and lands on a.
        pod("p4", "a", 25.0, 35.0, True),
    ]
    timeline = replay(
        pods, seconds={"t": 10.0}, time_scale=1.0, copies={"sim-0": (0, 0.0)},
        node_pools={"a": "p", "b": "p"}, pools=[Pool("p", 2.0, 2.0, 1.0, 1.0, 1)],
    )  # fmt: skip
    assert timeline.makespan == 20.0
    assert sorted(s.queued for s in timeline.steps) == [0.0, 0.0, 10.0, 10.0]
    # Without the nodes' sizes, the node it landed on is all there is.
    unsized = replay(
        pods, seconds={"t": 10.0}, time_scale=1.0, copies={"sim-0": (0, 0.0)},
        node_pools={"a": "p", "b": "p"}, pools=[Pool("p", 2.0, 2.0)],
    )  # fmt: skip
    assert unsized.makespan == 30.0
