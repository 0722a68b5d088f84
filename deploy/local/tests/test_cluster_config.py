"""The control plane's generated configuration (kwokctl and kube-scheduler)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from simpipe_devstack.components import cluster
from simpipe_devstack.components.argo import ArgoController
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.components.services import go_seconds, service_env
from simpipe_devstack.layout import SERVICE_IPS, Layout
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


def relabelled(job: dict[str, Any], labels: dict[str, str]) -> dict[str, str] | None:
    """Prometheus' relabelling of a discovered target (the rules the jobs
    use: drop, and replace with a regex over joined source labels)."""
    found = dict(labels)
    for rule in job["relabel_configs"]:
        value = ";".join(found.get(name, "") for name in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if rule.get("action") == "drop":
            if match:
                return None
            continue
        if match:
            found[rule["target_label"]] = match.expand(
                rule.get("replacement", "$1").replace("$1", r"\1")
            )
    return found


def test_every_kwok_node_is_in_exactly_one_scrape_job(stack: Stack) -> None:
    jobs = {j["job_name"]: j for j in Prometheus().config(stack)["scrape_configs"]}
    fast, standard = jobs["kwok-cadvisor-fast"], jobs["kwok-cadvisor"]
    coarse = jobs["kwok-cadvisor-coarse"]
    seconds = [go_seconds(j["scrape_interval"]) for j in (fast, standard, coarse)]
    assert seconds == sorted(seconds)
    assert len(set(seconds)) == 3
    # The scaler as a process and as a pod (MODE=cluster): one of the two runs.
    scalers = [
        f"127.0.0.1:{stack.layout.ports['kwok_scaler_http']}/discovery/scrape/",
        f"{SERVICE_IPS['kwok-scaler']}:9105/discovery/scrape/",
    ]
    for job, scrape in ((fast, "fast"), (coarse, "coarse")):
        urls = [c["url"].split("//")[1] for c in job["http_sd_configs"]]
        assert urls == [scaler + scrape for scaler in scalers]
    for scaler in scalers:
        assert scaler + "standard" in [c["url"].split("//")[1] for c in standard["http_sd_configs"]]
    kwok = f"127.0.0.1:{stack.layout.ports['kwok_controller']}"
    # As KWOK lists nodes: a virtual one only through the scaler, so never twice.
    virtual, own = "vc-1a2b3c4d-lab-p-0", "kwok-node-0"
    for name in (virtual, own):
        listed = {
            "__address__": kwok,
            "__metrics_path__": f"/metrics/nodes/{name}/metrics/cadvisor",
        }
        kept = relabelled(standard, listed)
        assert (kept is None) == (name == virtual)
    # As the scaler lists them: node names, pointed at KWOK's path.
    for job in (fast, standard, coarse):
        kept = relabelled(job, {"__address__": virtual, "__metrics_path__": "/metrics"})
        assert kept is not None
        assert kept["__address__"] == kwok
        assert kept["__metrics_path__"] == f"/metrics/nodes/{virtual}/metrics/cadvisor"
        assert kept["node"] == virtual


def test_the_scaler_is_told_both_scrape_intervals(stack: Stack) -> None:
    env = service_env(stack, "kwok-scaler")
    assert float(env["SIMPIPE_SIMULATION_FAST_SCRAPE_INTERVAL_SECONDS"]) == 0.25
    assert float(env["SIMPIPE_SIMULATION_SCRAPE_INTERVAL_SECONDS"]) == 1.0
    assert float(env["SIMPIPE_SIMULATION_COARSE_SCRAPE_INTERVAL_SECONDS"]) == 5.0
