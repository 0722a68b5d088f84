from __future__ import annotations

from typing import Any

import yaml

from simpipe_devstack.example_pipeline import (
    EXAMPLE_STEPS,
    SimulatedStep,
    argo_service,
    simulated_pipeline,
)
from simpipe_devstack.layout import MANIFESTS


def test_pipeline_steps_carry_their_simulation_annotations() -> None:
    steps = (
        *EXAMPLE_STEPS,
        SimulatedStep("boom", seconds=1, cpu_millicores=1, memory_mib=1, exit_code=3),
    )
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://127.0.0.1:1")).to_dict()
    spec = built["spec"]
    assert spec["nodeSelector"] == {"simpipe.io/node-kind": "kwok"}
    templates = {t["name"]: t for t in spec["templates"]}
    pipeline = templates["pipeline"]["steps"]
    assert [group[0]["template"] for group in pipeline] == [s.name for s in steps]
    for step in steps:
        template = templates[step.name]
        annotations = template["metadata"]["annotations"]
        assert annotations["simpipe.io/sim-duration"] == f"{step.seconds}s"
        assert annotations["simpipe.io/sim-cpu"] == f"{step.cpu_millicores}m"
        assert annotations["simpipe.io/sim-memory"] == f"{step.memory_mib}Mi"
        # An explicit command, or the controller asks a registry.
        assert template["container"]["command"]
    assert templates["boom"]["metadata"]["annotations"]["simpipe.io/sim-exit-code"] == "3"
    assert "simpipe.io/sim-exit-code" not in templates["process"]["metadata"]["annotations"]


def test_kwok_manifests_read_the_annotations_the_pipeline_writes() -> None:
    written = set(EXAMPLE_STEPS[1].annotations()) | {"simpipe.io/sim-exit-code"}
    files = sorted(MANIFESTS.glob("kwok-*.yaml"))
    kinds = {doc["kind"] for f in files for doc in yaml.safe_load_all(f.read_text())}
    assert kinds == {"Stage", "ClusterResourceUsage", "Metric"}
    text = "".join(f.read_text() for f in files)
    for annotation in written:
        assert annotation in text, annotation
