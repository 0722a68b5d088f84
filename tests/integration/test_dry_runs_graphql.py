"""Dry runs end to end through the gateway's GraphQL API, on the real stack:
gateway -> workflow-submitter -> Argo server -> KWOK, and back through the
argo-watcher and JetStream to a graphql-transport-ws subscription."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.ownership import LABEL_MANAGED
from simpipe_devstack.components.base import Component
from simpipe_devstack.components.nats import Nats
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.runs import gateway_stream
from simpipe_devstack.stack import Stack

STEPS = (
    SimulatedStep("prepare", seconds=2, cpu_millicores=200, memory_mib=32),
    SimulatedStep("crunch", seconds=3, cpu_millicores=800, memory_mib=128),
)
DRY_RUN_FIELDS = "id status { phase progress } project { id } nodes { id type phase displayName duration ... on DryRunNodePod { exitCode podName } }"
CREATE = f"mutation($i: CreateDryRunInput!) {{ createDryRun(input: $i) {{ {DRY_RUN_FIELDS} }} }}"
UPDATES = """subscription($id: String!) { dryRunUpdates(dryRunId: $id) {
  kind phase nodeId displayName exitCode dryRunId } }"""


def pipeline(steps: tuple[SimulatedStep, ...] = STEPS) -> dict[str, Any]:
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def managed_workflows(stack: Stack) -> list[str]:
    api = client.CustomObjectsApi(config.new_client_from_config(str(stack.layout.kubeconfig)))
    names: list[str] = []
    for namespace in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE):
        found: dict[str, Any] = api.list_namespaced_custom_object(  # type: ignore[assignment]
            "argoproj.io", "v1alpha1", namespace, "workflows",
            label_selector=f"{LABEL_MANAGED}=true",
        )  # fmt: skip
        names += [w["metadata"]["name"] for w in found["items"]]
    return sorted(names)


async def follow(gql: AsyncSimpipe, dry_run_id: str) -> list[dict[str, Any]]:
    updates = []
    async with asyncio.timeout(90):
        async for data in gateway_stream(gql, UPDATES, id=dry_run_id):
            updates.append(data["dryRunUpdates"])
    return updates


@pytest.mark.timeout(150)
async def test_lifecycle_with_every_phase_pushed_in_order(dev: AsyncSimpipe, project: str) -> None:
    run_id = unique("life")
    created = await dev.graphql(
        CREATE,
        i={
            "projectId": project,
            "dryRunId": run_id,
            "placement": "VIRTUAL_NODES",
            "argoWorkflow": pipeline(),
        },
    )
    assert created["createDryRun"]["id"] == run_id
    assert created["createDryRun"]["project"] == {"id": project}

    updates = await follow(dev, run_id)
    run_phases = [u["phase"] for u in updates if u["kind"] == "run"]
    assert run_phases[-1] == "Succeeded"
    assert run_phases.index("Running") < run_phases.index("Succeeded")
    for step in STEPS:
        phases = [
            u["phase"] for u in updates if u["kind"] == "step" and u["displayName"] == step.name
        ]
        assert phases[-1] == "Succeeded", (step.name, phases)
        assert phases == sorted(set(phases), key=phases.index), "no phase repeats"
    # Steps finish in pipeline order.
    finished = [
        u["displayName"] for u in updates if u["kind"] == "step" and u["phase"] == "Succeeded"
    ]
    assert finished == [s.name for s in STEPS]

    run = (
        await dev.graphql(
            f"query($id: String!) {{ dryRun(dryRunId: $id) {{ {DRY_RUN_FIELDS} }} }}", id=run_id
        )
    )["dryRun"]
    assert run["status"]["phase"] == "Succeeded"
    pods = {n["displayName"]: n for n in run["nodes"] if n["type"] == "Pod"}
    for step in STEPS:
        assert pods[step.name]["phase"] == "Succeeded"
        assert abs(pods[step.name]["duration"] - step.seconds) <= 1
        assert pods[step.name]["podName"]

    listed = await dev.graphql(
        "query($p: String!) { project(projectId: $p) { dryRuns { id } } }", p=project
    )
    assert run_id in [d["id"] for d in listed["project"]["dryRuns"]]

    resubmitted = await dev.graphql(
        "mutation($id: String!) { resubmitDryRun(dryRunId: $id) { id project { id } } }", id=run_id
    )
    copy_id = resubmitted["resubmitDryRun"]["id"]
    assert copy_id != run_id
    assert resubmitted["resubmitDryRun"]["project"] == {"id": project}

    assert (
        await dev.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=copy_id)
    )["deleteDryRun"]


PHASE_ORDER = ["Pending", "Running", "Succeeded"]
UPDATES_WITH_PROGRESS = UPDATES.replace("kind phase", "kind phase progress")


@pytest.mark.timeout(150)
async def test_a_subscriber_keeps_phases_in_order_across_a_nats_crash(
    stack: Stack, dev: AsyncSimpipe, project: str, crash: Callable[[Component], None]
) -> None:
    """The gateway takes live events from core NATS, which does not redeliver
    what a dropped connection missed: after the crash it must wait for its
    JetStream consumers again rather than pass a later phase first."""
    steps = tuple(
        SimulatedStep(name, seconds=3, cpu_millicores=100, memory_mib=16)
        for name in ("one", "two", "three")
    )
    run_id = unique("natscrash")
    await dev.graphql(
        CREATE,
        i={
            "projectId": project,
            "dryRunId": run_id,
            "placement": "VIRTUAL_NODES",
            "argoWorkflow": pipeline(steps),
        },
    )
    server = stack.component(Nats.name)
    updates: list[dict[str, Any]] = []
    crashed = False
    async with asyncio.timeout(120):
        async for data in gateway_stream(dev, UPDATES_WITH_PROGRESS, id=run_id):
            update = data["dryRunUpdates"]
            updates.append(update)
            first_step_running = (
                update["kind"] == "step"
                and update["displayName"] == "one"
                and update["phase"] == "Running"
            )
            if first_step_running and not crashed:
                await asyncio.to_thread(crash, server)
                await asyncio.to_thread(server.start, stack)
                crashed = True
    assert crashed, "the first step was never seen running: NATS was not crashed mid-run"
    # A run event goes out when its phase or its progress changes: the pairs
    # come in order, each once.
    run_states = [(u["phase"], u["progress"]) for u in updates if u["kind"] == "run"]
    assert run_states[-1] == ("Succeeded", "3/3"), run_states
    assert run_states == sorted(set(run_states), key=lambda s: (PHASE_ORDER.index(s[0]), s[1])), (
        run_states
    )
    for step in steps:
        phases = [
            u["phase"] for u in updates if u["kind"] == "step" and u["displayName"] == step.name
        ]
        # Phases missed while NATS was down may be skipped, never reordered or repeated.
        assert phases == sorted(set(phases), key=PHASE_ORDER.index), (step.name, phases)
        assert phases[-1] == "Succeeded", (step.name, phases)


@pytest.mark.timeout(150)
async def test_suspend_resume_and_terminate(dev: AsyncSimpipe, project: str) -> None:
    long_steps = (SimulatedStep("wait", seconds=30, cpu_millicores=100, memory_mib=16),)
    run_id = unique("ctl")
    await dev.graphql(
        CREATE,
        i={
            "projectId": project,
            "dryRunId": run_id,
            "placement": "VIRTUAL_NODES",
            "argoWorkflow": pipeline(long_steps),
        },
    )
    phases: asyncio.Queue[str] = asyncio.Queue()

    async def collect() -> None:
        async for data in gateway_stream(dev, UPDATES, id=run_id):
            if data["dryRunUpdates"]["kind"] == "run":
                await phases.put(data["dryRunUpdates"]["phase"])

    async def until(phase: str) -> None:
        while await asyncio.wait_for(phases.get(), 30) != phase:
            pass

    collector = asyncio.create_task(collect())
    try:
        await until("Running")
        command = "mutation($id: String!) { %s(dryRunId: $id) { id } }"
        assert (await dev.graphql(command % "suspendDryRun", id=run_id))["suspendDryRun"][
            "id"
        ] == run_id
        await until("Suspended")
        await dev.graphql(command % "resumeDryRun", id=run_id)
        await until("Running")
        await dev.graphql(
            "mutation($id: String!) { stopDryRun(dryRunId: $id, terminate: true) { id } }",
            id=run_id,
        )
        await until("Failed")
    finally:
        collector.cancel()


async def test_retried_create_with_the_same_id_makes_one_workflow(
    stack: Stack, dev: AsyncSimpipe, project: str
) -> None:
    run_id = unique("retry")
    body = {
        "projectId": project,
        "dryRunId": run_id,
        "placement": "VIRTUAL_NODES",
        "argoWorkflow": yaml.safe_dump(pipeline()),
    }
    first, second = await asyncio.gather(dev.graphql(CREATE, i=body), dev.graphql(CREATE, i=body))
    assert first["createDryRun"]["id"] == second["createDryRun"]["id"] == run_id
    assert managed_workflows(stack).count(run_id) == 1


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("spec: [unclosed", "INPUT_VALIDATION_ERROR"),
        ("apiVersion: v1\nkind: ConfigMap\nspec: {}", "INVALID_ARGO_WORKFLOW_ERROR"),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: x-}\n"
            "spec: {entrypoint: missing, templates: []}",
            "INVALID_ARGO_WORKFLOW_ERROR",
        ),
        ("a: " + "x" * (600 * 1024), "INPUT_VALIDATION_ERROR"),
        ("a: &anchor [1]\nb: *anchor", "INPUT_VALIDATION_ERROR"),
    ],
    ids=["malformed-yaml", "not-argo", "invalid-argo", "oversized", "yaml-alias"],
)
async def test_bad_documents_get_typed_errors_and_create_nothing(
    stack: Stack, dev: AsyncSimpipe, project: str, document: str, code: str
) -> None:
    before = managed_workflows(stack)
    with pytest.raises(GraphQLError) as caught:
        await dev.graphql(
            CREATE, i={"projectId": project, "placement": "VIRTUAL_NODES", "argoWorkflow": document}
        )
    assert caught.value.codes == [code]
    assert managed_workflows(stack) == before


async def test_unknown_project_and_bad_ids_are_typed_errors(dev: AsyncSimpipe) -> None:
    with pytest.raises(GraphQLError) as unknown:
        await dev.graphql(
            CREATE,
            i={
                "projectId": "no-such-project",
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(),
            },
        )
    assert unknown.value.codes == ["NOT_FOUND_ERROR"]
    with pytest.raises(GraphQLError) as bad_id:
        await dev.graphql(
            CREATE,
            i={
                "dryRunId": "../etc/passwd",
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(),
            },
        )
    assert bad_id.value.codes == ["INPUT_VALIDATION_ERROR"]


async def test_mutations_without_a_valid_token_are_refused(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    before = managed_workflows(stack)
    for token in (None, "sp-not-a-real-token-000000000"):
        anonymous = AsyncSimpipe(endpoints["graphql"], token)
        with pytest.raises(GraphQLError) as caught:
            await anonymous.graphql('mutation { createProject(project: {name: "x"}) { id } }')
        assert caught.value.codes == ["UNAUTHENTICATED"]
        with pytest.raises(GraphQLError):
            await anonymous.graphql(
                CREATE, i={"placement": "VIRTUAL_NODES", "argoWorkflow": pipeline()}
            )
        await anonymous.aclose()
    assert managed_workflows(stack) == before


async def test_one_user_cannot_see_or_touch_anothers_project(
    dev: AsyncSimpipe, guest: AsyncSimpipe, project: str
) -> None:
    run_id = unique("mine")
    await dev.graphql(
        CREATE,
        i={
            "projectId": project,
            "dryRunId": run_id,
            "placement": "VIRTUAL_NODES",
            "argoWorkflow": pipeline(),
        },
    )
    assert project not in [
        p["id"] for p in (await guest.graphql("{ projects { id } }"))["projects"]
    ]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("query($p: String!) { project(projectId: $p) { id } }", {"p": project}),
        ("query($id: String!) { dryRun(dryRunId: $id) { id } }", {"id": run_id}),
        ("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", {"id": run_id}),
        (
            'mutation($p: String!) { renameProject(projectId: $p, name: "mine now") { id } }',
            {"p": project},
        ),
        (
            CREATE,
            {"i": {"projectId": project, "placement": "VIRTUAL_NODES", "argoWorkflow": pipeline()}},
        ),
    ]
    for query, variables in attempts:
        with pytest.raises(GraphQLError) as caught:
            await guest.graphql(query, **variables)
        assert caught.value.codes == ["NOT_FOUND_ERROR"], query
    with pytest.raises(GraphQLError):
        async for _ in guest.subscribe(UPDATES, id=run_id):
            pass
    still = await dev.graphql("query($id: String!) { dryRun(dryRunId: $id) { id } }", id=run_id)
    assert still["dryRun"]["id"] == run_id


@pytest.mark.timeout(120)
async def test_dry_run_from_a_project_template_with_parameters(
    dev: AsyncSimpipe, project: str
) -> None:
    template = pipeline()
    template["kind"] = "WorkflowTemplate"
    name = unique("tpl")
    template["metadata"] = {"name": name}
    template["spec"]["arguments"] = {"parameters": [{"name": "size", "value": "1"}]}
    created = await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name project { id } } }",
        i={"projectId": project, "argoWorkflowTemplate": template},
    )
    assert created["createWorkflowTemplate"] == {"name": name, "project": {"id": project}}
    run = await dev.graphql(
        "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id argoWorkflow } }",
        i={
            "projectId": project,
            "workflowTemplateName": name,
            "placement": "VIRTUAL_NODES",
            "parameters": [{"name": "size", "value": "10"}],
        },
    )
    spec = run["createDryRunFromTemplate"]["argoWorkflow"]["spec"]
    # On virtual nodes the run lives in the simulations' namespace, where
    # templates are not: it carries the template, its parameter overridden.
    assert "workflowTemplateRef" not in spec
    assert spec["entrypoint"] == template["spec"]["entrypoint"]
    assert [t["name"] for t in spec["templates"]] == [
        t["name"] for t in template["spec"]["templates"]
    ]
    assert spec["arguments"]["parameters"] == [{"name": "size", "value": "10"}]
    updates = await follow(dev, run["createDryRunFromTemplate"]["id"])
    assert updates[-1]["phase"] == "Succeeded"
    templates = await dev.graphql(
        "query($p: String!) { project(projectId: $p) { workflowTemplates { name } } }", p=project
    )
    assert templates["project"]["workflowTemplates"] == [{"name": name}]


@pytest.mark.timeout(240)
async def test_a_run_is_found_right_after_its_create_returned(
    dev: AsyncSimpipe, project: str
) -> None:
    """Read-your-writes, as scripts and the original GUI do it: the create asks
    for the id alone, the next request reads the run. 100 times in a row."""
    document = pipeline()
    document["spec"]["suspend"] = True  # nothing runs: only the reads matter
    created: list[str] = []
    try:
        for _ in range(100):
            run_id = unique("ryw")
            await dev.graphql(
                "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
                i={"projectId": project, "dryRunId": run_id, "placement": "VIRTUAL_NODES",
                   "argoWorkflow": document},
            )  # fmt: skip
            created.append(run_id)
            read = await dev.graphql(
                "query($id: String!) { dryRun(dryRunId: $id) { id status { phase } } }", id=run_id
            )
            assert read["dryRun"]["id"] == run_id
    finally:
        for run_id in created:
            await dev.graphql("mutation($id: String!) { deleteDryRun(dryRunId: $id) }", id=run_id)
