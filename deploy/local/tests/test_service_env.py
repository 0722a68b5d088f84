"""Each service of the local stack gets the settings its settings class
reads, its own mesh identity, and only the secrets it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.components.services import SERVICE_NAMES, service_env
from simpipe_devstack.layout import Layout
from simpipe_devstack.stack import Stack
from simpipe_gateway.config import GatewaySettings
from simpipe_kwok_scaler.config import KwokScalerSettings
from simpipe_metrics_collector.config import MetricsCollectorSettings
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings
from simpipe_workflow_submitter.project_storage import ProjectStorageSettings

# Every settings class a service reads, its main one first.
SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "workflow-submitter": (WorkflowSubmitterSettings, ProjectStorageSettings),
    "argo-watcher": (ArgoWatcherSettings,),
    "metrics-collector": (MetricsCollectorSettings,),
    "storage-broker": (StorageBrokerSettings,),
    "kwok-scaler": (KwokScalerSettings,),
    "gateway": (GatewaySettings,),
}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("SIMPIPE_CACHE", str(tmp_path / "cache"))
    return Stack(Layout.from_env(), out=lambda _: None)


def test_every_service_has_its_settings_class() -> None:
    assert set(SETTINGS) == set(SERVICE_NAMES)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_gets_only_what_its_settings_read(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    env = service_env(stack, service)
    fields = {f"SIMPIPE_{f.upper()}" for cls in SETTINGS[service] for f in cls.model_fields}
    assert set(env) <= fields, set(env) - fields
    # ... and that is all it needs to start.
    for name in list(fields):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = [cls() for cls in SETTINGS[service]]
    main = loaded[0]
    assert isinstance(main, ServiceSettings)
    assert main.nats_user == service
    assert main.tls_cert_file == stack.layout.state / "pki" / f"{service}.pem"


def test_secrets_go_only_where_they_are_needed(stack: Stack) -> None:
    secrets = stack.secrets
    holders: dict[str, set[str]] = {}
    for service in SERVICE_NAMES:
        for value in service_env(stack, service).values():
            holders.setdefault(value, set()).add(service)
    # The kwok-scaler: simulation reports beside the run reports.
    assert holders[secrets.s3_secret_key] == {"storage-broker", "metrics-collector", "kwok-scaler"}
    assert holders[secrets.gateway_tokens_setting()] == {"gateway"}
    for service in SERVICE_NAMES:
        assert holders[secrets.nats_passwords[service]] == {service}
        key = str(stack.layout.state / "pki" / f"{service}-key.pem")
        assert holders[key] == {service}
    assert secrets.postgres_password not in holders
    assert secrets.sftpgo["password"] not in holders


def test_the_tests_may_call_every_service_but_the_gateway_calls_out_only(stack: Stack) -> None:
    for service in SERVICE_NAMES:
        extra = service_env(stack, service).get("SIMPIPE_GRPC_EXTRA_CALLERS")
        assert extra == (None if service == "gateway" else "tests")
