"""images.py: each image's port is its service's, names and tools are
checked before any build, and the wheels asked for fit the base."""

from __future__ import annotations

import shutil

import pytest
from pydantic_settings import BaseSettings

from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_devstack import images
from simpipe_devstack.components.services import SERVICE_NAMES
from simpipe_devstack.layout import Layout
from simpipe_devstack.processes import StackError
from simpipe_gateway.config import GatewaySettings
from simpipe_kwok_scaler.config import KwokScalerSettings
from simpipe_metrics_collector.config import MetricsCollectorSettings
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings

SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "workflow-submitter": WorkflowSubmitterSettings,
    "argo-watcher": ArgoWatcherSettings,
    "metrics-collector": MetricsCollectorSettings,
    "storage-broker": StorageBrokerSettings,
    "kwok-scaler": KwokScalerSettings,
}


def test_every_service_has_an_image_with_its_own_http_port() -> None:
    assert set(images.SERVICE_HTTP_PORTS) == set(SERVICE_NAMES)
    for service, port in images.SERVICE_HTTP_PORTS.items():
        assert SETTINGS[service].model_fields["http_port"].default == port, service


def test_an_unknown_service_is_refused_by_name() -> None:
    assert images.image_name("gateway") == "simpipe/gateway:dev"
    for bad in ("web", "gateway:latest", "../gateway", ""):
        with pytest.raises(StackError, match="is not a service"):
            images.image_name(bad)


def test_missing_tools_are_named_with_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    problem = images.prerequisites_problem()
    assert problem is not None
    assert "buildah and mmdebstrap not installed: apt-get install -y buildah mmdebstrap" in problem
    with pytest.raises(StackError, match="not installed"):
        images.build_images(Layout.from_env(), ["gateway"])


def test_wheels_are_those_the_bases_glibc_takes() -> None:
    manylinux = [p for p in images.WHEEL_PLATFORMS if p.startswith("manylinux_2_")]
    minors = {int(p.split("_")[2]) for p in manylinux}
    # bookworm's glibc is 2.36: nothing newer, everything older down to 2.5.
    assert max(minors) == 36
    assert set(range(5, 37)) == minors
    assert "any" in images.WHEEL_PLATFORMS


def test_the_base_is_named_by_its_packages() -> None:
    assert images.BASE_IMAGE.startswith("simpipe.local/python-base:bookworm-")
    assert images.ImageCache(images.REPO).base_tar.name == (
        images.BASE_IMAGE.rpartition("/")[2].replace(":", "-") + ".tar"
    )
    assert "libstdc++6" in images.BASE_PACKAGES
