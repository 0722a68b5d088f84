"""The services as processes or as pods (make up MODE=cluster): what each
mode starts, how the mode is chosen and kept, what a bad one says."""

from __future__ import annotations

from pathlib import Path

import pytest

from simpipe_devstack.components.cluster_services import ClusterServices, mesh_hosts
from simpipe_devstack.components.services import SERVICE_NAMES, Service
from simpipe_devstack.layout import SERVICE_IPS, SERVICE_SUBNET, Layout
from simpipe_devstack.processes import StackError
from simpipe_devstack.stack import Stack


@pytest.fixture
def make_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[Stack]:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("SIMPIPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SIMPIPE_MODE", raising=False)
    return Stack


def names(stack: Stack, kind: type) -> list[str]:
    return [c.name for c in stack.components if isinstance(c, kind) and stack.in_mode(c)]


def test_process_mode_runs_the_services_as_processes(make_stack: type[Stack]) -> None:
    stack = make_stack(Layout.from_env(), out=lambda _: None)
    assert stack.mode == "process"
    assert names(stack, Service) == list(SERVICE_NAMES)
    assert names(stack, ClusterServices) == []


def test_cluster_mode_runs_them_as_pods_and_is_remembered(
    make_stack: type[Stack], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMPIPE_MODE", "cluster")
    stack = make_stack(Layout.from_env(), out=lambda _: None)
    assert stack.mode == "cluster"
    assert names(stack, Service) == []
    assert names(stack, ClusterServices) == ["services-in-cluster"]
    # `make down` and `make status` after `make up MODE=cluster` see the mode
    # the last `up` wrote, without being told.
    stack.layout.state.mkdir(parents=True)
    stack.mode_file.write_text("cluster")
    monkeypatch.delenv("SIMPIPE_MODE")
    assert make_stack(Layout.from_env(), out=lambda _: None).mode == "cluster"


def test_an_unknown_mode_is_refused_by_name(
    make_stack: type[Stack], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMPIPE_MODE", "kubernetes")
    stack = make_stack(Layout.from_env(), out=lambda _: None)
    with pytest.raises(
        StackError, match="SIMPIPE_MODE='kubernetes': expected one of process, cluster"
    ):
        _ = stack.mode


def test_each_service_address_is_in_the_service_range_and_its_certificate() -> None:
    assert set(SERVICE_IPS) == set(SERVICE_NAMES)
    assert len(set(SERVICE_IPS.values())) == len(SERVICE_IPS)
    for service, address in SERVICE_IPS.items():
        host = int(address.rsplit(".", 1)[1])
        # The static band of a /24 Service range (the apiserver never hands
        # those out on its own), and not the `kubernetes` Service's .1.
        assert address.startswith(str(SERVICE_SUBNET.network_address)[:-1])
        assert 2 <= host < 16, service
        assert mesh_hosts(service) == [
            service,
            f"{service}.simpipe-system",
            f"{service}.simpipe-system.svc",
            address,
        ]
