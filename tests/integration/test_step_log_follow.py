"""A step's log followed live through GraphQL on the real node: lines reach
the subscriber while the step still runs, in order, and the subscription
ends with the step; a finished step's log comes whole; another user's step
is not found."""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any

import pytest

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.demo import example_document
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

LINES = 8
SCRIPT = f"for i in $(seq 1 {LINES}); do echo follow-line $i; sleep 1; done"
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
UPDATES = """subscription($id: String!) { dryRunUpdates(dryRunId: $id) {
  kind phase nodeId displayName } }"""
FOLLOW = """subscription($id: String!, $node: String!, $max: Int) {
  dryRunStepLog(dryRunId: $id, nodeId: $node, maxLines: $max) { lines } }"""
STEP = """query($id: String!) { dryRun(dryRunId: $id) { status { phase }
  nodes { id ... on DryRunNodePod { finishedAt } } } }"""


def slow_printer(stack: Stack) -> dict[str, Any]:
    """The example's first step alone, printing a line a second."""
    document, _ = example_document(stack)
    [step] = [t for t in document["spec"]["templates"] if t["name"] == "pre-process"]
    step = copy.deepcopy(step)
    step["name"] = "printer"
    step["container"]["args"] = [SCRIPT]
    step.pop("outputs", None)
    pipeline = {"name": "pipeline", "steps": [[{"name": "printer", "template": "printer"}]]}
    document["spec"]["templates"] = [pipeline, step]
    document["spec"]["entrypoint"] = "pipeline"
    document["metadata"] = {"generateName": "follow-log-"}
    return document


def expected() -> list[str]:
    return [f"follow-line {i}" for i in range(1, LINES + 1)]


@pytest.mark.timeout(240)
async def test_lines_reach_the_subscriber_while_the_step_runs(
    real_node: Stack, dev: AsyncSimpipe, guest: AsyncSimpipe
) -> None:
    created = await dev.graphql(CREATE, i={"argoWorkflow": slow_printer(real_node)})
    run_id = created["createDryRun"]["id"]
    node_id = ""
    async for data in dev.subscribe(UPDATES, id=run_id):
        update = data["dryRunUpdates"]
        if update["kind"] == "step" and update["displayName"] == "printer":
            node_id = update["nodeId"]
            break
    assert node_id
    arrived: list[tuple[float, str]] = []
    async for data in dev.subscribe(FOLLOW, id=run_id, node=node_id, max=0):
        now = time.time()
        arrived += [(now, line) for line in data["dryRunStepLog"]["lines"]]
    ours = [line for _, line in arrived if line.startswith("follow-line")]
    assert ours == expected()

    run = await finished_dry_run(dev, STEP, run_id, 120)
    assert run["status"]["phase"] == "Succeeded"
    [step] = [n for n in run["nodes"] if n["id"] == node_id]
    finished = datetime.fromisoformat(step["finishedAt"].replace("Z", "+00:00")).timestamp()
    first = next(t for t, line in arrived if line == "follow-line 1")
    # The first line came seconds before the step ended, not with its end.
    assert finished - first > LINES / 2

    # Ended: the whole log at once, then the subscription completes.
    batches = [d["dryRunStepLog"]["lines"] async for d in dev.subscribe(
        FOLLOW, id=run_id, node=node_id, max=0)]  # fmt: skip
    whole = [line for batch in batches for line in batch]
    assert [line for line in whole if line.startswith("follow-line")] == expected()

    with pytest.raises(GraphQLError) as refused:
        async for _ in guest.subscribe(FOLLOW, id=run_id, node=node_id, max=0):
            pass
    assert refused.value.codes == ["NOT_FOUND_ERROR"]
