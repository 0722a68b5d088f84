from __future__ import annotations

from typing import Any

import yaml

from simpipe_devstack.components.cluster import KWOK_NODE_KIND
from simpipe_devstack.components.kubelet import REAL_NODE_KIND
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    SimulatedStep,
    argo_service,
    on_nodes,
    real_pipeline,
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
    # Placement is createDryRun's option, not the document's.
    assert not {"nodeSelector", "tolerations", "affinity", "podSpecPatch"} & set(spec)
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


def test_tools_that_go_to_argo_directly_place_the_pipeline_themselves() -> None:
    service = argo_service("http://127.0.0.1:1")
    real = on_nodes(
        real_pipeline(EXAMPLE_REAL_STEPS, service, runtime_class="gvisor"), REAL_NODE_KIND
    ).to_dict()
    assert real["spec"]["nodeSelector"] == {"simpipe.io/node-kind": "real"}
    assert real["spec"]["tolerations"] == [
        {
            "key": "simpipe.io/node-kind",
            "operator": "Equal",
            "value": "real",
            "effect": "NoSchedule",
        }
    ]
    assert real["spec"]["podSpecPatch"] == '{"runtimeClassName": "gvisor"}'
    simulated = on_nodes(simulated_pipeline(EXAMPLE_STEPS, service), KWOK_NODE_KIND).to_dict()
    assert simulated["spec"]["nodeSelector"] == {"simpipe.io/node-kind": "kwok"}
    assert not {"tolerations", "podSpecPatch"} & set(simulated["spec"])
