"""Virtual clusters and simulations through the gateway's GraphQL API on
the real stack: gateway -> kwok-scaler -> KWOK Node objects in the
apiserver; a dry run placed on one of a cluster's pools; a simulation
started, followed over the simulationProgress subscription and read back as
its report. Each user sees only their own clusters and simulations; input
that can never make a cluster or a simulation is refused with a typed error
and leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import SIMULATION_NAMESPACE
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

CLUSTER_LABEL = "simpipe.io/virtual-cluster"
POOL_LABEL = "simpipe.io/pool"
CLUSTER_FIELDS = (
    "id createdAt pools { name count ready cpu memory pods labels { key value }"
    " taints { key value effect } }"
)
CREATE = (
    "mutation($i: CreateVirtualClusterInput!) { createVirtualCluster(input: $i)"
    f" {{ {CLUSTER_FIELDS} }} }}"
)
GET = f"query($id: String!) {{ virtualCluster(id: $id) {{ {CLUSTER_FIELDS} }} }}"
LIST = "{ virtualClusters { id } }"
RESIZE = (
    "mutation($id: String!, $c: [PoolCountInput!]!) { resizeVirtualCluster(id: $id, counts: $c)"
    " { pools { name count ready } } }"
)
DELETE = "mutation($id: String!) { deleteVirtualCluster(id: $id) }"
CREATE_RUN = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
RUN = """query($id: String!) { dryRun(dryRunId: $id) {
  status { phase } nodes { ... on DryRunNodePod { podName } } } }"""
TIMEOUT = 120.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pool(name: str = "small", count: int = 2, **changes: Any) -> dict[str, Any]:
    return {"name": name, "count": count, "cpu": "1", "memory": "2Gi", "pods": 4, **changes}


@pytest.fixture
def core(stack: Stack) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(stack.layout.kubeconfig)))


def nodes_of(core: client.CoreV1Api, cluster: str) -> list[dict[str, Any]]:
    """The cluster's Node objects, as the API spells them."""
    found = core.list_node(label_selector=f"{CLUSTER_LABEL}={cluster}")
    data: dict[str, Any] = core.api_client.sanitize_for_serialization(found)
    items: list[dict[str, Any]] = data.get("items") or []
    return items


def pool_of(node: dict[str, Any]) -> str:
    found: str = node["metadata"]["labels"][POOL_LABEL]
    return found


def _wait_nodes(
    core: client.CoreV1Api, cluster: str, done: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + TIMEOUT
    selector = f"{CLUSTER_LABEL}={cluster}"
    while True:
        listed = core.list_node(label_selector=selector)
        nodes: list[dict[str, Any]] = (
            core.api_client.sanitize_for_serialization(listed).get("items") or []
        )
        if done(nodes):
            return nodes
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"not within {TIMEOUT} s: {what}")
        # Woken by the next change of the cluster's nodes, then listed again.
        changes = watch.Watch()
        for _ in changes.stream(
            core.list_node, label_selector=selector, timeout_seconds=max(1, int(remaining)),
            resource_version=listed.metadata.resource_version,  # type: ignore[union-attr]
        ):  # fmt: skip
            changes.stop()


async def nodes_until(
    core: client.CoreV1Api, cluster: str, done: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """The cluster's nodes once `done` holds of them, watched (TIMEOUT)."""
    return await asyncio.to_thread(_wait_nodes, core, cluster, done, what)


def ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens["local-guest"])
    yield gql
    await gql.aclose()


@pytest.fixture
async def clusters(dev: AsyncSimpipe, core: client.CoreV1Api) -> AsyncIterator[list[str]]:
    """Ids of clusters a test made; deleted after it, their nodes gone."""
    made: list[str] = []
    yield made
    for cluster in made:
        with contextlib.suppress(GraphQLError):  # deleted by the test, or never made
            await dev.graphql(DELETE, id=cluster)
        await nodes_until(core, cluster, lambda nodes: not nodes, f"cluster {cluster}'s nodes gone")


async def failure(gql: AsyncSimpipe, query: str, **variables: Any) -> GraphQLError:
    with pytest.raises(GraphQLError) as caught:
        await gql.graphql(query, **variables)
    return caught.value


async def test_a_cluster_is_created_resized_and_deleted_as_kwok_nodes(
    dev: AsyncSimpipe, guest: AsyncSimpipe, core: client.CoreV1Api, clusters: list[str]
) -> None:
    cluster = unique("gw")
    clusters.append(cluster)
    pools = [
        pool("small", 3, labels=[{"key": "tier", "value": "small"}]),
        pool("big", 1, cpu="8", memory="32Gi", taints=[{"key": "big", "value": "yes"}]),
    ]
    created = (await dev.graphql(CREATE, i={"id": cluster, "pools": pools}))["createVirtualCluster"]
    assert created["id"] == cluster
    assert created["createdAt"]
    assert [(p["name"], p["count"], p["cpu"], p["memory"], p["pods"]) for p in created["pools"]] == [
        ("small", 3, "1", "2Gi", 4), ("big", 1, "8", "32Gi", 4),
    ]  # fmt: skip

    nodes = await nodes_until(
        core, cluster, lambda found: len(found) == 4 and all(map(ready, found)), "4 Ready nodes"
    )
    # The API's view of them: every node Ready.
    found = (await dev.graphql(GET, id=cluster))["virtualCluster"]
    assert [(p["name"], p["count"], p["ready"]) for p in found["pools"]] == [
        ("small", 3, 3), ("big", 1, 1),
    ]  # fmt: skip
    by_pool = sorted((pool_of(n), n["status"]["allocatable"]["cpu"]) for n in nodes)
    assert by_pool == [("big", "8"), ("small", "1"), ("small", "1"), ("small", "1")]
    small = next(n for n in nodes if pool_of(n) == "small")
    assert small["metadata"]["labels"]["tier"] == "small"
    big = next(n for n in nodes if pool_of(n) == "big")
    taints = {(t["key"], t.get("value"), t["effect"]) for t in big["spec"]["taints"]}
    assert ("big", "yes", "NoSchedule") in taints
    assert cluster in [c["id"] for c in (await dev.graphql(LIST))["virtualClusters"]]

    # Another user neither sees, resizes nor deletes it.
    assert cluster not in [c["id"] for c in (await guest.graphql(LIST))["virtualClusters"]]
    for query, variables in (
        (GET, {"id": cluster}),
        (RESIZE, {"id": cluster, "c": [{"pool": "small", "count": 0}]}),
        (DELETE, {"id": cluster}),
    ):
        assert (await failure(guest, query, **variables)).codes == ["NOT_FOUND_ERROR"]
    assert len(nodes_of(core, cluster)) == 4

    resized = await dev.graphql(RESIZE, id=cluster, c=[{"pool": "small", "count": 1}])
    assert [(p["name"], p["count"]) for p in resized["resizeVirtualCluster"]["pools"]] == [
        ("small", 1), ("big", 1),
    ]  # fmt: skip
    await nodes_until(core, cluster, lambda found: len(found) == 2, "the small pool shrunk to 1")

    assert (await dev.graphql(DELETE, id=cluster))["deleteVirtualCluster"] is True
    await nodes_until(core, cluster, lambda found: not found, "the cluster's nodes gone")
    assert (await failure(dev, GET, id=cluster)).codes == ["NOT_FOUND_ERROR"]


@pytest.mark.parametrize(
    ("pools", "code"),
    [
        ([pool(count=0)], "INPUT_VALIDATION_ERROR"),
        ([pool(count=-1)], "INPUT_VALIDATION_ERROR"),
        ([pool(count=1_000_000_000)], "INPUT_VALIDATION_ERROR"),
        ([pool(cpu="lots")], "INPUT_VALIDATION_ERROR"),
        ([pool(memory="-1Gi")], "INPUT_VALIDATION_ERROR"),
        ([pool(pods=0)], "INPUT_VALIDATION_ERROR"),
        ([pool(name="Not_A_Label")], "INPUT_VALIDATION_ERROR"),
        ([pool("twice"), pool("twice")], "INPUT_VALIDATION_ERROR"),
        ([pool(taints=[{"key": "k", "effect": "Sometimes"}])], "INPUT_VALIDATION_ERROR"),
    ],
)
async def test_a_cluster_that_cannot_be_made_is_a_typed_error_and_leaves_nothing(
    dev: AsyncSimpipe,
    core: client.CoreV1Api,
    clusters: list[str],
    pools: list[dict[str, Any]],
    code: str,
) -> None:
    cluster = unique("gw-bad")
    clusters.append(cluster)
    error = await failure(dev, CREATE, i={"id": cluster, "pools": pools})
    assert error.codes == [code], error
    assert cluster not in [c["id"] for c in (await dev.graphql(LIST))["virtualClusters"]]
    assert nodes_of(core, cluster) == []


async def test_a_resize_that_cannot_be_done_is_a_typed_error(
    dev: AsyncSimpipe, core: client.CoreV1Api, clusters: list[str]
) -> None:
    cluster = unique("gw")
    clusters.append(cluster)
    await dev.graphql(CREATE, i={"id": cluster, "pools": [pool(count=1)]})
    for counts in (
        [{"pool": "small", "count": -1}],
        [{"pool": "small", "count": 1_000_000_000}],
        # A pool the cluster does not have: the request is wrong, not the cluster missing.
        [{"pool": "nope", "count": 1}],
    ):
        error = await failure(dev, RESIZE, id=cluster, c=counts)
        assert error.codes == ["INPUT_VALIDATION_ERROR"], (counts, error)
    found = (await dev.graphql(GET, id=cluster))["virtualCluster"]
    assert [(p["name"], p["count"]) for p in found["pools"]] == [("small", 1)]
    await nodes_until(core, cluster, lambda found: len(found) == 1, "the pool's 1 node")


async def test_a_dry_run_placed_on_a_pool_runs_on_its_nodes(
    dev: AsyncSimpipe, core: client.CoreV1Api, clusters: list[str], project: str
) -> None:
    cluster = unique("gw")
    clusters.append(cluster)
    pools = [pool("a", 1), pool("b", 2, taints=[{"key": "only", "value": "b"}])]
    await dev.graphql(CREATE, i={"id": cluster, "pools": pools})
    await nodes_until(
        core, cluster, lambda found: len(found) == 3 and all(map(ready, found)), "3 Ready nodes"
    )
    document = simulated_pipeline(
        (SimulatedStep("one", seconds=1, cpu_millicores=100, memory_mib=16),
         SimulatedStep("two", seconds=1, cpu_millicores=100, memory_mib=16)),
        argo_service("http://unused"),
    ).to_dict()  # fmt: skip
    run_id = (
        await dev.graphql(
            CREATE_RUN,
            i={
                "projectId": project,
                "argoWorkflow": document,
                "placement": "VIRTUAL_NODES",
                "virtualCluster": cluster,
                "pool": "b",
            },
        )
    )["createDryRun"]["id"]
    run = await finished_dry_run(dev, RUN, run_id, TIMEOUT, interval=0.5)
    assert run["status"]["phase"] == "Succeeded"
    pods = [n["podName"] for n in run["nodes"] if n.get("podName")]
    assert len(pods) == 2
    pool_b = {n["metadata"]["name"] for n in nodes_of(core, cluster) if pool_of(n) == "b"}
    placed = set()
    for name in pods:
        found = core.api_client.sanitize_for_serialization(
            core.read_namespaced_pod(name, SIMULATION_NAMESPACE)
        )
        placed.add(found["spec"]["nodeName"])
    assert placed <= pool_b, (placed, pool_b)


async def test_a_placement_on_a_cluster_that_is_not_the_callers_is_not_found(
    dev: AsyncSimpipe, guest: AsyncSimpipe, core: client.CoreV1Api, clusters: list[str]
) -> None:
    cluster = unique("gw")
    clusters.append(cluster)
    await dev.graphql(CREATE, i={"id": cluster, "pools": [pool(count=1)]})
    await nodes_until(core, cluster, lambda found: len(found) == 1, "the cluster's node")
    document = simulated_pipeline(
        (SimulatedStep("one", seconds=1, cpu_millicores=100, memory_mib=16),),
        argo_service("http://unused"),
    ).to_dict()
    for who, placement in (
        (guest, {"virtualCluster": cluster}),
        (dev, {"virtualCluster": cluster, "pool": "nope"}),
    ):
        error = await failure(
            who, CREATE_RUN, i={"argoWorkflow": document, "placement": "VIRTUAL_NODES", **placement}
        )
        assert error.codes == ["NOT_FOUND_ERROR"], error


START = "mutation($i: StartSimulationInput!) { startSimulation(input: $i) { id phase dryRunIds } }"
SIMULATION_LABEL = "simpipe.io/simulation"


def simulated_workflows(stack: Stack, simulation: str) -> list[str]:
    api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
    found: dict[str, Any] = api.list_namespaced_custom_object(  # type: ignore[assignment]
        "argoproj.io", "v1alpha1", SIMULATION_NAMESPACE, "workflows",
        label_selector=f"{SIMULATION_LABEL}={simulation}",
    )  # fmt: skip
    return [w["metadata"]["name"] for w in found["items"]]


@pytest.mark.parametrize(
    ("timing", "changes", "said"),
    [
        ({}, {}, "exactly one of"),
        ({"referenceDryRunId": "r", "explicit": [{"step": "t", "seconds": 1.0}]}, {}, "exactly one of"),
        ({"explicit": [{"step": "t", "seconds": -20.0}]}, {}, "seconds must not be negative"),
        ({"explicit": [{"step": "t", "seconds": 1.0}, {"step": "t", "seconds": 2.0}]}, {}, "twice"),
        ({"explicit": [{"step": "", "seconds": 1.0}]}, {}, "template name"),
        ({"referenceDryRunId": "r", "durationFactor": -4.0}, {}, "durationFactor"),
        ({"referenceDryRunId": "r"}, {"copies": -20}, "copies"),
        ({"referenceDryRunId": "r"}, {"timeScale": -10.0}, "timeScale"),
    ],
)  # fmt: skip
async def test_malformed_simulation_input_is_refused_and_starts_nothing(
    stack: Stack,
    dev: AsyncSimpipe,
    project: str,
    timing: dict[str, Any],
    changes: dict[str, Any],
    said: str,
) -> None:
    simulation = unique("gw-sim")
    error = await failure(
        dev,
        START,
        i={
            "simulationId": simulation, "projectId": project, "workflowTemplateName": "t",
            "virtualClusterId": "c", "timing": timing, **changes,
        },
    )  # fmt: skip
    assert error.codes == ["INPUT_VALIDATION_ERROR"], error
    assert said in str(error)
    assert simulated_workflows(stack, simulation) == []


EXAMPLES = Path(__file__).parents[1] / "examples"
STEP_SECONDS = 6.0
PROGRESS = """subscription($s: String!) { simulationProgress(simulationId: $s) {
  simulationId kind phase message makespanSeconds progress { stepsDone stepsTotal copiesDone } } }"""
REPORT = """query($id: String!) { simulationReport(id: $id) {
  simulationId phase makespanSeconds peakPodsPending timeScale url parquetUrl
  steps { copy dryRunId templateName nodeName pool queuedSeconds runSeconds startedSeconds
    finishedSeconds phase }
  unschedulable { reason } } }"""
COPIES = """query($id: String!) { simulation(id: $id) {
  phase dryRunIds dryRuns { id status { phase } } } }"""
DELETE_SIMULATION = "mutation($id: String!) { deleteSimulation(id: $id) }"


@pytest.fixture
async def template(dev: AsyncSimpipe, project: str) -> str:
    """The example pipeline (pre-process -> process -> analyse) as one of the project's templates."""
    name = unique("three-step")
    text = (EXAMPLES / "three-step-pipeline.yaml").read_text()
    created = await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={
            "projectId": project,
            "argoWorkflowTemplate": text.replace("three-step-pipeline", name, 1),
        },
    )
    found: str = created["createWorkflowTemplate"]["name"]
    return found


def explicit(seconds: float) -> list[dict[str, Any]]:
    return [
        {"step": step, "seconds": seconds, "cpuCores": 0.5, "memoryBytes": 64 * 2**20}
        for step in ("pre-process", "process", "analyse")
    ]


@pytest.mark.timeout(240)
async def test_a_simulation_through_graphql_start_progress_report(
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    core: client.CoreV1Api,
    clusters: list[str],
    project: str,
    template: str,
) -> None:
    """4 copies of a 3-step chain of 6 s steps on 2 nodes of one pod each:
    12 pods of 6 s on 2 slots, 36 s of simulated time or a little more
    (the scheduler's order), some waiting for a node."""
    cluster = unique("gw-sim")
    clusters.append(cluster)
    await dev.graphql(CREATE, i={"id": cluster, "pools": [pool("one", 2, pods=1)]})
    await nodes_until(
        core, cluster, lambda found: len(found) == 2 and all(map(ready, found)), "2 Ready nodes"
    )
    simulation = unique("gw-sim")
    started = await dev.graphql(
        START,
        i={
            "simulationId": simulation, "projectId": project, "workflowTemplateName": template,
            "virtualClusterId": cluster, "timing": {"explicit": explicit(STEP_SECONDS)},
            "copies": 4, "timeScale": 2.0,
        },
    )  # fmt: skip
    try:
        assert started["startSimulation"]["id"] == simulation
        assert started["startSimulation"]["dryRunIds"] == [f"{simulation}-{k}" for k in range(4)]
        # Another user's subscription to it is refused.
        with pytest.raises(GraphQLError) as refused:
            async for _ in guest.subscribe(PROGRESS, s=simulation):
                pass
        assert refused.value.codes == ["NOT_FOUND_ERROR"]

        updates = []
        async with asyncio.timeout(180):
            async for data in dev.subscribe(PROGRESS, s=simulation):
                updates.append(data["simulationProgress"])
        kinds = [u["kind"] for u in updates]
        assert kinds[0] == "state"
        assert kinds[-1] == "ended"
        assert set(kinds[1:-1]) <= {"progress"}
        assert {u["simulationId"] for u in updates} == {simulation}
        done = [u["progress"]["stepsDone"] for u in updates if u["kind"] == "progress"]
        assert done == sorted(done)
        end = updates[-1]
        assert end["phase"] == "Succeeded", end

        report = (await dev.graphql(REPORT, id=simulation))["simulationReport"]
        assert (report["simulationId"], report["phase"], report["timeScale"]) == (
            simulation, "Succeeded", 2.0,
        )  # fmt: skip
        assert report["url"]
        assert report["parquetUrl"]
        assert report["makespanSeconds"] == end["makespanSeconds"]
        steps = report["steps"]
        # The makespan is the schedule's: the last step's end, with never more
        # than the 2 slots busy, and a step waiting only while both were. Which
        # chain the scheduler served first is its choice: 36 s when both slots
        # stay busy to the end, up to Graham's list-scheduling bound of 45 s
        # (72 s of work on 2 slots, plus half the 18 s chain) when one chain
        # is left alone at the end.
        assert report["makespanSeconds"] == pytest.approx(
            max(s["finishedSeconds"] for s in steps), abs=0.5
        )
        assert 12 * STEP_SECONDS / 2 * 0.95 <= report["makespanSeconds"] <= 45 * 1.05

        def running(t: float) -> int:
            return sum(s["startedSeconds"] <= t < s["finishedSeconds"] for s in steps)

        assert all(running(s["startedSeconds"] + 0.5) <= 2 for s in steps)
        for s in steps:
            if s["queuedSeconds"] > 1:
                assert running(s["startedSeconds"] - s["queuedSeconds"] / 2) == 2, s
        assert sorted((s["copy"], s["templateName"]) for s in steps) == sorted(
            (k, t) for k in range(4) for t in ("pre-process", "process", "analyse")
        )
        assert all(s["runSeconds"] == pytest.approx(STEP_SECONDS, rel=0.05) for s in steps)
        assert {s["phase"] for s in steps} == {"Succeeded"}
        nodes = {n["metadata"]["name"] for n in nodes_of(core, cluster)}
        assert {s["nodeName"] for s in steps} <= nodes
        assert {s["pool"] for s in steps} == {"one"}
        # Two slots for four chains: someone waited for a node.
        assert sum(s["queuedSeconds"] for s in steps) > 0
        assert report["unschedulable"] == []

        # The copies are dry runs of the caller's, as any other.
        copies = (await dev.graphql(COPIES, id=simulation))["simulation"]
        assert copies["phase"] == "Succeeded"
        assert sorted(r["id"] for r in copies["dryRuns"]) == sorted(copies["dryRunIds"])
        assert {r["status"]["phase"] for r in copies["dryRuns"]} == {"Succeeded"}
        # Another user's: not found (a report not found is null, as one not written yet).
        assert (await failure(guest, COPIES, id=simulation)).codes == ["NOT_FOUND_ERROR"]
        assert (await guest.graphql(REPORT, id=simulation))["simulationReport"] is None
    finally:
        with contextlib.suppress(GraphQLError):
            await dev.graphql(DELETE_SIMULATION, id=simulation)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"timing": {"referenceDryRunId": "no-such-run"}}, "NOT_FOUND_ERROR"),
        ({"workflowTemplateName": "no-such-template"}, "NOT_FOUND_ERROR"),
        ({"virtualClusterId": "no-such-cluster"}, "NOT_FOUND_ERROR"),
        ({"pool": "no-such-pool"}, "INPUT_VALIDATION_ERROR"),
        ({"timing": {"explicit": [{"step": "no-such-step", "seconds": 6.0}]}}, "INPUT_VALIDATION_ERROR"),
        ({"copies": 1_000_000}, "INPUT_VALIDATION_ERROR"),
        # 6 s steps: three 1 s scrapes of wall time allow a time scale of 2 at most.
        ({"timeScale": 100.0}, "INPUT_VALIDATION_ERROR"),
        ({"timing": {"scaling": {"dryRunIds": ["one-run"], "inputSizeBytes": 4e9}}}, "INPUT_VALIDATION_ERROR"),
    ],
)  # fmt: skip
async def test_a_simulation_the_scaler_refuses_is_its_typed_error_and_starts_nothing(
    stack: Stack,
    dev: AsyncSimpipe,
    core: client.CoreV1Api,
    clusters: list[str],
    project: str,
    template: str,
    changes: dict[str, Any],
    code: str,
) -> None:
    cluster = unique("gw-sim")
    clusters.append(cluster)
    await dev.graphql(CREATE, i={"id": cluster, "pools": [pool("one", 1)]})
    simulation = unique("gw-sim")
    given = {
        "simulationId": simulation, "projectId": project, "workflowTemplateName": template,
        "virtualClusterId": cluster, "timing": {"explicit": explicit(STEP_SECONDS)}, **changes,
    }  # fmt: skip
    error = await failure(dev, START, i=given)
    assert error.codes == [code], error
    assert simulated_workflows(stack, simulation) == []
    assert simulation not in [
        s["id"] for s in (await dev.graphql("{ simulations { id } }"))["simulations"]
    ]
