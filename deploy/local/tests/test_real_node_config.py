"""The real node's generated configuration, and the stack without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from simpipe_devstack.components.argo import controller_config
from simpipe_devstack.components.containerd import cni_config, containerd_config, to_toml
from simpipe_devstack.components.kubelet import REAL_NODE_TAINT, kubelet_config
from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.layout import Layout
from simpipe_devstack.stack import Stack


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path))
    monkeypatch.setenv("SIMPIPE_NODE_SUBNET", "10.99.7.0/24")
    return Stack(Layout.from_env(), out=lambda _: None)


def test_node_address_is_the_first_of_its_private_subnet(
    monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    assert stack.layout.node_ip == "10.99.7.1"
    monkeypatch.setenv("SIMPIPE_NODE_SUBNET", "8.8.8.0/24")
    with pytest.raises(ValueError, match="private"):
        Layout.from_env()


def test_containerd_is_private_to_the_state_dir_and_wires_gvisor(stack: Stack) -> None:
    config = containerd_config(stack)
    text = to_toml(config)
    state = str(stack.layout.state)
    assert config["grpc"]["address"].startswith(state)
    assert config[""]["root"].startswith(state)
    cri = config['plugins."io.containerd.grpc.v1.cri"']
    assert cri["restrict_oom_score_adj"] is True
    assert cri["stream_server_address"] == "127.0.0.1"
    gvisor = config['plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor.options']
    assert gvisor["BinaryName"].startswith(state)
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]' in text
    assert 'runtime_type = "io.containerd.runc.v2"' in text


def test_pods_get_routes_to_their_subnet_and_services_only(stack: Stack) -> None:
    (bridge,) = cni_config(stack)["plugins"]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.99.7.0/24", "gateway": "10.99.7.1"}]]
    assert bridge["ipam"]["routes"] == [{"dst": "10.0.0.0/24", "gw": "10.99.7.1"}]


def test_kubelet_listens_on_the_node_address_and_taints_its_node(stack: Stack) -> None:
    config = kubelet_config(stack)
    assert config["address"] == "10.99.7.1"
    assert config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["registerWithTaints"] == [REAL_NODE_TAINT]


def test_with_a_real_node_pods_reach_s3_and_prometheus_relabels_cadvisor(stack: Stack) -> None:
    stack.__dict__["real_node_problem"] = None
    s3 = controller_config(stack)["artifactRepository"]["s3"]
    assert s3["endpoint"] == f"10.99.7.1:{stack.layout.ports['minio']}"
    jobs = {j["job_name"]: j for j in Prometheus().config(stack)["scrape_configs"]}
    relabels = jobs["real-node-cadvisor"]["metric_relabel_configs"]
    targets = {r.get("target_label") for r in relabels}
    assert {"namespace", "pod", "container"} <= targets
    assert {"regex": "container_label_.+", "action": "labeldrop"} in relabels


def test_without_a_real_node_the_stack_is_kwok_only(
    monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    monkeypatch.setenv("SIMPIPE_REAL_NODE", "0")
    assert stack.real_node_problem == "SIMPIPE_REAL_NODE=0"
    names = [c.name for c in stack.active_components]
    assert "kubelet" not in names
    assert "containerd" not in names
    assert "cluster" in names
    assert "argo-controller" in names
    s3 = controller_config(stack)["artifactRepository"]["s3"]
    assert s3["endpoint"] == f"127.0.0.1:{stack.layout.ports['minio']}"
    jobs = [j["job_name"] for j in Prometheus().config(stack)["scrape_configs"]]
    assert "real-node-cadvisor" not in jobs


def test_cri_is_not_ready_without_a_containerd(tmp_path: Path) -> None:
    from simpipe_devstack.components.containerd import cri_ready

    assert not cri_ready(tmp_path / "containerd.sock")
