"""The control plane's generated configuration (kwokctl and kube-scheduler)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simpipe_devstack.components import cluster
from simpipe_devstack.components.argo import ArgoController
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.layout import Layout
from simpipe_devstack.stack import Stack


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path))
    return Stack(Layout.from_env(), out=lambda _: None)


def component_args(stack: Stack, name: str) -> dict[str, str]:
    head = next(yaml.safe_load_all(Cluster().kwokctl_config(stack)))
    (patch,) = [p for p in head["componentsPatches"] if p["name"] == name]
    return {arg["key"]: arg["value"] for arg in patch["extraArgs"]}


def test_scheduler_retries_unschedulable_pods_every_second(stack: Stack) -> None:
    config = yaml.safe_load(Cluster().scheduler_config(stack))
    assert config["kind"] == "KubeSchedulerConfiguration"
    assert (config["podInitialBackoffSeconds"], config["podMaxBackoffSeconds"]) == (1, 1)
    # The file replaces the QPS flags, which a --config makes the scheduler ignore.
    assert config["clientConnection"]["qps"] >= 500
    assert config["clientConnection"]["kubeconfig"].startswith(str(stack.layout.state))
    args = component_args(stack, "kube-scheduler")
    assert args == {"config": args["config"]}
    assert Path(args["config"]).parent == stack.layout.generated


def test_changed_scheduler_config_changes_the_cluster_config(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Cluster().kwokctl_config(stack)
    monkeypatch.setitem(cluster.SCHEDULER_BACKOFF_SECONDS, "podMaxBackoffSeconds", 2)
    assert Cluster().kwokctl_config(stack) != before


def test_argo_controller_rate_limit_is_raised(stack: Stack) -> None:
    args = list(ArgoController().spec(stack).argv)
    assert float(args[args.index("--qps") + 1]) > 20
    assert int(args[args.index("--burst") + 1]) > 30
