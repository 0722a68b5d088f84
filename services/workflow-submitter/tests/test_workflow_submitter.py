import pytest

from simpipe_common.testing import check_serves_and_stops
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings


def test_default_ports_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = WorkflowSubmitterSettings()
    assert (settings.grpc_port, settings.http_port) == (50051, 9101)
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    assert WorkflowSubmitterSettings().grpc_port == 6000


async def test_reports_dependencies_and_stops_cleanly_on_sigterm() -> None:
    await check_serves_and_stops(
        "simpipe_workflow_submitter", "workflow-submitter", ["nats", "kubernetes", "argo", "events"]
    )
