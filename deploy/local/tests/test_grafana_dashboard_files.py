from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from simpipe_devstack.grafana_dashboards import DASHBOARDS_DIR, panels, rendered, substituted

# The series the dry-run dashboard must show: the metrics-collector's
# catalog names for CPU, memory, network and disk.
STEP_SERIES = (
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_fs_reads_bytes_total",
    "container_fs_writes_bytes_total",
)


def documents() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in rendered().items()}


def test_committed_dashboards_are_what_the_generator_makes() -> None:
    for name, text in rendered().items():
        committed = DASHBOARDS_DIR / name
        assert committed.is_file(), f"{name} missing: run `python -m simpipe_devstack dashboards`"
        assert committed.read_text() == text, (
            f"{name} differs from the generator's: run `python -m simpipe_devstack dashboards`"
        )


def test_the_kustomization_makes_a_labelled_config_map_of_each() -> None:
    kustomization = yaml.safe_load((DASHBOARDS_DIR / "kustomization.yaml").read_text())
    assert kustomization["generatorOptions"] == {
        "disableNameSuffixHash": True,
        "labels": {"grafana_dashboard": "1"},
    }
    generated = kustomization["configMapGenerator"]
    assert sorted(f for g in generated for f in g["files"]) == sorted(rendered())
    assert {g["namespace"] for g in generated} == {"simpipe-system"}
    base = yaml.safe_load((DASHBOARDS_DIR.parent / "kustomization.yaml").read_text())
    assert "dashboards" in base["resources"]


@pytest.mark.parametrize("name", sorted(rendered()))
def test_every_panel_has_a_promql_target(name: str) -> None:
    document = documents()[name]
    found = list(panels(document))
    assert found, name
    for panel in found:
        targets = panel.get("targets") or []
        assert targets, f"{name}: panel {panel['title']!r} has no target"
        for target in targets:
            assert target["expr"].strip(), f"{name}: panel {panel['title']!r}"
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    ids = [p["id"] for p in document["panels"]]
    assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"


def test_the_dry_run_dashboard_selects_a_steps_pods_by_namespace_and_pod() -> None:
    document = documents()["simpipe-dry-run-steps.json"]
    variables = {v["name"] for v in document["templating"]["list"]}
    assert {"datasource", "namespace", "pod"} <= variables
    exprs = [t["expr"] for p in panels(document) for t in p["targets"]]
    for series in STEP_SERIES:
        using = [e for e in exprs if series in e]
        assert using, series
        for expr in using:
            assert 'namespace="$namespace"' in expr, expr
            assert 'pod=~"$pod"' in expr, expr
            # Network counters belong to the pod, the others to its main container.
            assert ('container="main"' in expr) == ("network" not in series), expr


def test_the_services_dashboard_filters_by_service() -> None:
    document = documents()["simpipe-services.json"]
    assert "service" in {v["name"] for v in document["templating"]["list"]}
    for panel in panels(document):
        for target in panel["targets"]:
            assert 'service=~"$service"' in target["expr"], panel["title"]


def test_substitution_replaces_grafanas_variables() -> None:
    expr = 'rate(x{namespace="$namespace", pod=~"${pod}"}[$__rate_interval])'
    assert substituted(expr, {"namespace": "simpipe", "pod": "a|b", "__rate_interval": "1m"}) == (
        'rate(x{namespace="simpipe", pod=~"a|b"}[1m])'
    )
    assert substituted("$unknown", {}) == "$unknown"
    assert not re.search(r"\$", substituted("$a${b}", {"a": "1", "b": "2"}))
