"""createDryRun and createDryRunFromTemplate hand their typed placement,
sandbox and node name to the workflow-submitter, which turns them into the
Workflow's scheduling fields."""

from types import SimpleNamespace
from typing import Any

import pytest

from simpipe.v1 import workflow_submitter_pb2
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

pb = workflow_submitter_pb2
schema = build_schema(GatewaySettings())


class Submitter:
    def __init__(self) -> None:
        self.requests: list[pb.CreateDryRunRequest] = []

    async def CreateDryRun(self, request: pb.CreateDryRunRequest, **_: Any) -> pb.DryRunRef:  # noqa: N802
        self.requests.append(request)
        return pb.DryRunRef(dry_run_id="new")


class Authenticated:
    def still_valid(self, caller: Caller) -> bool:
        return True


def context(submitter: Submitter) -> dict[str, Any]:
    gateway = SimpleNamespace(submitter=submitter, authenticator=Authenticated())
    return {"gateway": gateway, "caller": Caller("someone")}


async def sent(mutation: str) -> pb.CreateDryRunRequest:
    submitter = Submitter()
    result = await schema.execute(mutation, context_value=context(submitter))
    assert result.errors is None, result.errors
    [request] = submitter.requests
    return request


FROM_DOCUMENT = "mutation {{ createDryRun(input: {{argoWorkflow: {{}} {options}}}) {{ id }} }}"
FROM_TEMPLATE = (
    'mutation {{ createDryRunFromTemplate(input: {{workflowTemplateName: "t" {options}}})'
    " {{ id }} }}"
)


@pytest.mark.parametrize("mutation", [FROM_DOCUMENT, FROM_TEMPLATE])
@pytest.mark.parametrize(
    ("options", "nodes", "sandbox", "node_name"),
    [
        ("", pb.NODES_UNSPECIFIED, pb.SANDBOX_UNSPECIFIED, ""),
        ("placement: REAL_NODES, sandbox: GVISOR", pb.NODES_REAL, pb.SANDBOX_GVISOR, ""),
        ('placement: VIRTUAL_NODES, nodeName: "kwok-node-1"', pb.NODES_VIRTUAL, pb.SANDBOX_UNSPECIFIED, "kwok-node-1"),
        ("sandbox: NONE", pb.NODES_UNSPECIFIED, pb.SANDBOX_NONE, ""),
        # The original GUI's "no node chosen".
        ('nodeName: "default"', pb.NODES_UNSPECIFIED, pb.SANDBOX_UNSPECIFIED, ""),
    ],
)  # fmt: skip
async def test_placement_and_sandbox_reach_the_submitter(
    mutation: str, options: str, nodes: int, sandbox: int, node_name: str
) -> None:
    request = await sent(mutation.format(options=options))
    assert (request.placement.nodes, request.placement.node_name, request.sandbox) == (
        nodes, node_name, sandbox,
    )  # fmt: skip


async def test_an_unknown_placement_is_refused_before_the_submitter() -> None:
    submitter = Submitter()
    result = await schema.execute(
        FROM_DOCUMENT.format(options="placement: ANYWHERE"), context_value=context(submitter)
    )
    assert result.errors
    assert "ANYWHERE" in result.errors[0].message
    assert submitter.requests == []
