"""A simulated run's step figures: validated, then written as the pod
annotations KWOK's Stages and usage emulation read; a run of a template is
resolved so its templates can carry them."""

import json
import math
from typing import Any

import pytest

from simpipe.v1 import kwok_scaler_pb2, workflow_submitter_pb2
from simpipe_common.errors import InvalidInputError
from simpipe_workflow_submitter import simulated_steps

pb = workflow_submitter_pb2
VIRTUAL = pb.Placement(nodes=pb.NODES_VIRTUAL)


def workflow() -> dict[str, Any]:
    return {
        "metadata": {"name": "copy-0"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "dag": {"tasks": [{"name": "a", "template": "work"}]}},
                {"name": "work", "container": {"image": "busybox"}},
                {"name": "other", "script": {"image": "busybox", "source": "true"}},
            ],
        },
    }


def request(*steps: kwok_scaler_pb2.StepFigures, **fields: Any) -> pb.CreateDryRunRequest:
    fields.setdefault("placement", VIRTUAL)
    return pb.CreateDryRunRequest(caller="a", simulated_steps=steps, **fields)


def test_figures_become_the_annotations_the_stages_and_usage_read() -> None:
    document = workflow()
    figures = kwok_scaler_pb2.StepFigures(
        step="work", seconds=2.5, cpu_cores=0.25, memory_bytes=256 * 2**20,
        network_receive_bytes_per_second=1.5, network_transmit_bytes_per_second=1000,
        fs_read_bytes_per_second=0, fs_write_bytes_per_second=4096,
        output_parameters={"count": "3", "label": "big"}, exit_code=2,
    )  # fmt: skip
    assert simulated_steps.check_request(request(figures, simulation_id="sim-1"))
    simulated_steps.annotate(document, [figures], "sim-1")
    work = document["spec"]["templates"][1]
    assert work["metadata"]["annotations"] == {
        "simpipe.io/sim-step": "work",
        "simpipe.io/sim-duration": "2.500s",
        "simpipe.io/sim-exit-code": "2",
        "simpipe.io/sim-cpu": "250000000n",
        "simpipe.io/sim-memory": str(256 * 2**20),
        "simpipe.io/sim-network-receive": "1500m",
        "simpipe.io/sim-network-transmit": "1000",
        "simpipe.io/sim-fs-read": "0",
        "simpipe.io/sim-fs-write": "4096",
        "simpipe.io/sim-outputs": json.dumps({"count": "3", "label": "big"}),
    }
    # Templates not named keep KWOK's defaults.
    assert "metadata" not in document["spec"]["templates"][2]
    assert document["metadata"]["labels"] == {"simpipe.io/simulation": "sim-1"}


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0s"), (1, "1s"), (0.25, "0.250s"), (61.0004, "61s")]
)
def test_durations_are_go_durations_to_the_millisecond(seconds: float, expected: str) -> None:
    assert simulated_steps.go_duration(seconds) == expected


def test_a_plain_run_is_not_a_simulation() -> None:
    assert not simulated_steps.check_request(pb.CreateDryRunRequest(caller="a"))


@pytest.mark.parametrize("placement", [pb.Placement(), pb.Placement(nodes=pb.NODES_REAL)])
def test_simulation_fields_need_virtual_nodes(placement: pb.Placement) -> None:
    with pytest.raises(InvalidInputError, match="VIRTUAL"):
        simulated_steps.check_request(
            request(kwok_scaler_pb2.StepFigures(step="work", seconds=1), placement=placement)
        )
    with pytest.raises(InvalidInputError, match="VIRTUAL"):
        simulated_steps.check_request(
            pb.CreateDryRunRequest(caller="a", simulation_id="sim", placement=placement)
        )


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        (kwok_scaler_pb2.StepFigures(step="work", seconds=-1), "seconds"),
        (kwok_scaler_pb2.StepFigures(step="work", seconds=math.nan), "seconds"),
        (kwok_scaler_pb2.StepFigures(step="work", seconds=math.inf), "seconds"),
        (kwok_scaler_pb2.StepFigures(step="work", cpu_cores=1e9), "cpu_cores"),
        (kwok_scaler_pb2.StepFigures(step="work", memory_bytes=-5), "memory_bytes"),
        (kwok_scaler_pb2.StepFigures(step="work", fs_write_bytes_per_second=math.nan), "fs_write"),
        (kwok_scaler_pb2.StepFigures(step="work", exit_code=-1), "exit_code"),
        (kwok_scaler_pb2.StepFigures(step="work", exit_code=256), "exit_code"),
        (kwok_scaler_pb2.StepFigures(step=""), "template name"),
        (kwok_scaler_pb2.StepFigures(step="work", output_parameters={"a b": "1"}), "name"),
        (
            kwok_scaler_pb2.StepFigures(step="work", output_parameters={"big": "x" * 200_000}),
            "bytes",
        ),
        (
            kwok_scaler_pb2.StepFigures(
                step="work", output_parameters={f"p{i}": "1" for i in range(100)}
            ),
            "at most",
        ),
    ],
)
def test_malformed_figures_are_refused(figures: kwok_scaler_pb2.StepFigures, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        simulated_steps.check_request(request(figures))


def test_a_step_given_twice_or_a_bad_simulation_id_is_refused() -> None:
    step = kwok_scaler_pb2.StepFigures(step="work", seconds=1)
    with pytest.raises(InvalidInputError, match="twice"):
        simulated_steps.check_request(request(step, step))
    with pytest.raises(InvalidInputError):
        simulated_steps.check_request(request(step, simulation_id="Not_A_Label"))


@pytest.mark.parametrize(("step", "message"), [("nope", "not a template"), ("main", "not a pod")])
def test_only_pod_templates_of_the_workflow_take_figures(step: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        simulated_steps.annotate(workflow(), [kwok_scaler_pb2.StepFigures(step=step)], "")


def test_a_template_run_is_resolved_with_the_request_parameters_over_the_defaults() -> None:
    template = {
        "metadata": {"name": "pipe"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "n", "value": "1"}, {"name": "m", "value": "x"}]},
            "templates": workflow()["spec"]["templates"],
        },
    }
    document: dict[str, Any] = {
        "metadata": {},
        "spec": {
            "workflowTemplateRef": {"name": "pipe"},
            "arguments": {"parameters": [{"name": "n", "value": "5"}]},
            "nodeSelector": {"type": "kwok"},
        },
    }
    simulated_steps.inline_template(document, template)
    spec = document["spec"]
    assert "workflowTemplateRef" not in spec
    assert spec["arguments"]["parameters"] == [
        {"name": "n", "value": "5"}, {"name": "m", "value": "x"},
    ]  # fmt: skip
    assert spec["nodeSelector"] == {"type": "kwok"}
    assert [t["name"] for t in spec["templates"]] == ["main", "work", "other"]
    # The stored template is not changed.
    assert template["spec"]["arguments"]["parameters"][0]["value"] == "1"
    simulated_steps.annotate(document, [kwok_scaler_pb2.StepFigures(step="work")], "")
    assert "metadata" not in template["spec"]["templates"][1]
