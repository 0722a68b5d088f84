"""The example pipelines in tests/examples run through the GraphQL API."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.runs import finished_dry_run

EXAMPLES = Path(__file__).parents[1] / "examples"
NODES = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { type displayName templateName phase startedAt finishedAt } } }"""
# Within the tests' own budget, pytest.mark.timeout(120).
RUN_SECONDS = 110


@pytest.mark.timeout(120)
async def test_three_step_template_runs_with_a_parameter(dev: AsyncSimpipe, project: str) -> None:
    template = (
        (EXAMPLES / "three-step-pipeline.yaml")
        .read_text()
        .replace("name: three-step-pipeline", f"name: three-step-{uuid.uuid4().hex[:6]}", 1)
    )
    created = await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={"projectId": project, "argoWorkflowTemplate": template},
    )
    run = await dev.graphql(
        "mutation($i: CreateDryRunFromTemplateInput!) { createDryRunFromTemplate(input: $i) { id } }",
        i={
            "projectId": project,
            "workflowTemplateName": created["createWorkflowTemplate"]["name"],
            "placement": "VIRTUAL_NODES",
            "parameters": [{"name": "input-size", "value": "250"}],
        },
    )
    final = await finished_dry_run(dev, NODES, run["createDryRunFromTemplate"]["id"], RUN_SECONDS)
    assert final["status"] == {"phase": "Succeeded"}
    steps = [n["displayName"] for n in final["nodes"] if n["type"] == "Pod"]
    assert sorted(steps) == ["analyse", "pre-process", "process"]


@pytest.mark.timeout(120)
async def test_dag_fans_out_in_parallel(dev: AsyncSimpipe, project: str) -> None:
    created = await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={
            "projectId": project,
            "placement": "VIRTUAL_NODES",
            "argoWorkflow": (EXAMPLES / "dag-fan-out.yaml").read_text(),
        },
    )
    final = await finished_dry_run(dev, NODES, created["createDryRun"]["id"], RUN_SECONDS)
    assert final["status"] == {"phase": "Succeeded"}
    pods = [n for n in final["nodes"] if n["type"] == "Pod"]
    parts = [n for n in pods if n["templateName"] == "work"]
    assert len(parts) == 4
    assert all(p["phase"] == "Succeeded" for p in pods)
    # The four parts overlap in time: each started before any other finished.
    starts = [datetime.fromisoformat(p["startedAt"]) for p in parts]
    ends = [datetime.fromisoformat(p["finishedAt"]) for p in parts]
    assert max(starts) < min(ends)
