"""Mutations making a new dry run answer a bare id without the watcher."""

from types import SimpleNamespace
from typing import Any

from simpipe.v1 import dry_runs_pb2, workflow_submitter_pb2
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())


class Services:
    """A submitter whose commands make dry run "new", and a watcher that knows it."""

    def __init__(self) -> None:
        self.watched: list[str] = []

    async def CreateDryRun(self, request: Any, **options: Any) -> workflow_submitter_pb2.DryRunRef:  # noqa: N802
        return workflow_submitter_pb2.DryRunRef(dry_run_id="new")

    async def ResubmitDryRun(  # noqa: N802
        self, request: Any, **options: Any
    ) -> workflow_submitter_pb2.DryRunRef:
        return workflow_submitter_pb2.DryRunRef(dry_run_id="new")

    async def GetDryRun(self, request: Any, **options: Any) -> dry_runs_pb2.DryRun:  # noqa: N802
        self.watched.append(request.dry_run_id)
        return dry_runs_pb2.DryRun(id=request.dry_run_id)


async def ask(query: str) -> tuple[Any, list[str]]:
    services = Services()
    gateway = SimpleNamespace(submitter=services, watcher=services)
    result = await schema.execute(
        query, context_value={"gateway": gateway, "caller": Caller("someone")}
    )
    assert result.errors is None
    return result.data, services.watched


async def test_a_new_dry_run_asked_for_its_id_alone_is_not_waited_for() -> None:
    create = "mutation { createDryRun(input: {argoWorkflow: {}}) { id __typename } }"
    assert await ask(create) == ({"createDryRun": {"id": "new", "__typename": "DryRun"}}, [])
    resubmit = 'mutation { resubmitDryRun(dryRunId: "old") { id } }'
    assert await ask(resubmit) == ({"resubmitDryRun": {"id": "new"}}, [])


async def test_a_new_dry_run_asked_for_more_comes_from_the_watcher() -> None:
    resubmit = 'mutation { resubmitDryRun(dryRunId: "old") { id status { phase } } }'
    data, watched = await ask(resubmit)
    assert data["resubmitDryRun"]["id"] == "new"
    assert watched == ["new"]


async def test_a_fragment_named_id_is_not_taken_for_the_field() -> None:
    resubmit = 'mutation { resubmitDryRun(dryRunId: "old") { ...id } } fragment id on DryRun { id status { phase } }'
    data, watched = await ask(resubmit)
    assert data["resubmitDryRun"]["id"] == "new"
    assert watched == ["new"]
