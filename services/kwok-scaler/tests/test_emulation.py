"""The emulation of Argo's executor on virtual nodes: what it reads from a
pod (validated), the outputs and WorkflowTaskResult it builds, branch
values, daemon ends; and the emulator on a fake Kubernetes API."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simpipe_common.settings import KubernetesSettings
from simpipe_kwok_scaler.emulation.branches import branch_values, step_name
from simpipe_kwok_scaler.emulation.daemons import daemon_stop_reason, ran_for
from simpipe_kwok_scaler.emulation.emulator import Emulator
from simpipe_kwok_scaler.emulation.errors import UnusablePodError
from simpipe_kwok_scaler.emulation.kube import EmulationKube
from simpipe_kwok_scaler.emulation.outputs import emulated_outputs, needs_values, simulated_values
from simpipe_kwok_scaler.emulation.pods import is_step_pod, step_pod
from simpipe_kwok_scaler.emulation.settings import EmulationSettings
from simpipe_kwok_scaler.emulation.task_result import task_result
from simpipe_kwok_scaler.emulation.template import step_template

KIND = "simpipe.io/node-kind"

WORKFLOW_UID = "0b5c1f7e-1111-2222-3333-444455556666"

TEMPLATE: dict[str, Any] = {
    "name": "generate",
    "outputs": {
        "parameters": [
            {"name": "choice", "valueFrom": {"path": "/tmp/choice"}},
            {"name": "size", "valueFrom": {"path": "/tmp/size", "default": "7"}},
            {"name": "fixed", "value": "as written"},
            {"name": "supplied", "valueFrom": {"supplied": {}}},
        ],
        "artifacts": [
            {"name": "data", "path": "/tmp/data"},
            {"name": "zipped", "path": "/tmp/z", "archive": {"zip": {}}},
            {"name": "raw-file", "path": "/tmp/dir/out.txt", "archive": {"none": {}}},
            {"name": "kept", "path": "/tmp/k", "s3": {"key": "proj/own/key"}},
        ],
    },
    "archiveLocation": {
        "archiveLogs": True,
        "s3": {"bucket": "argo", "endpoint": "minio:9000", "key": "wf-abc/wf-abc-generate-1"},
    },
    "container": {"image": "alpine", "command": ["sh"]},
}


def pod(
    *,
    template: dict[str, Any] | str | None = None,
    node_name: str = "kwok-node-0",
    selector: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    include_script_output: bool = False,
    phase: str = "Running",
    name: str = "wf-abc-generate-1",
    uid: str = "pod-uid-1",
) -> dict[str, Any]:
    text = template if isinstance(template, str) else json.dumps(template or TEMPLATE)
    return {
        "metadata": {
            "name": name,
            "namespace": "simpipe",
            "uid": uid,
            "labels": {"workflows.argoproj.io/workflow": "wf-abc"},
            "annotations": {
                "workflows.argoproj.io/node-id": "wf-abc-1234",
                "workflows.argoproj.io/node-name": "wf-abc[0].generate",
                **(annotations or {}),
            },
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Workflow",
                    "name": "wf-abc",
                    "uid": WORKFLOW_UID,
                    "controller": True,
                }
            ],
        },
        "spec": {
            "nodeName": node_name,
            "nodeSelector": selector if selector is not None else {"simpipe.io/node-kind": "kwok"},
            "initContainers": [
                {
                    "name": "init",
                    "env": [
                        {"name": "ARGO_TEMPLATE", "value": text},
                        {
                            "name": "ARGO_INCLUDE_SCRIPT_OUTPUT",
                            "value": "true" if include_script_output else "false",
                        },
                    ],
                }
            ],
            "containers": [{"name": "wait"}, {"name": "main"}],
        },
        "status": {"phase": phase, "startTime": "2026-12-04T08:00:00Z"},
    }


def template(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(TEMPLATE)
    found.update(changes)
    return found


def parsed(**kwargs: Any) -> Any:
    return step_pod(pod(**kwargs), KIND)


def test_a_step_pod_is_read_with_what_the_emulation_needs() -> None:
    step = parsed(include_script_output=True)
    assert (step.workflow, step.workflow_uid, step.node_id) == (
        "wf-abc",
        WORKFLOW_UID,
        "wf-abc-1234",
    )
    assert (step.node_name, step.selected_node_kind, step.phase) == (
        "kwok-node-0",
        "kwok",
        "Running",
    )
    assert step.include_script_output
    assert not step.template_offloaded
    assert step_template(step.template_text, 10_000).name == "generate"
    assert parsed(template="offloaded").template_offloaded


def reason_of(document: dict[str, Any]) -> str:
    with pytest.raises(UnusablePodError) as caught:
        step_pod(document, KIND)
    return caught.value.reason


def test_pods_not_written_by_argo_are_refused_with_a_reason() -> None:
    no_owner = pod()
    no_owner["metadata"]["ownerReferences"] = []
    assert not is_step_pod(no_owner)
    assert reason_of(no_owner) == "not-a-step"
    other_workflow = pod()
    other_workflow["metadata"]["labels"]["workflows.argoproj.io/workflow"] = "someone-else"
    assert reason_of(other_workflow) == "bad-workflow"
    for node_id in ("", "UPPER", "a" * 300, "x/../y"):
        bad = pod(annotations={"workflows.argoproj.io/node-id": node_id})
        assert reason_of(bad) == "bad-node-id", node_id
    not_strings = pod()
    not_strings["metadata"]["annotations"]["n"] = 5
    assert reason_of(not_strings) == "malformed"
    no_init = pod()
    no_init["spec"]["initContainers"] = []
    assert reason_of(no_init) == "no-template"
    not_an_object = pod()
    not_an_object["spec"] = []
    assert reason_of(not_an_object) == "malformed"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x" * 2000, "template-too-large"),
        ("{not json", "bad-template"),
        ("[1, 2]", "bad-template"),
        (json.dumps({"outputs": {"parameters": "p"}}), "bad-template"),
        (json.dumps({"outputs": {"artifacts": [1]}}), "bad-template"),
        (json.dumps({"outputs": [], "archiveLocation": {}}), "bad-template"),
    ],
)
def test_templates_are_parsed_with_bounds(text: str, reason: str) -> None:
    with pytest.raises(UnusablePodError) as caught:
        step_template(text, 1000)
    assert caught.value.reason == reason


def test_which_templates_report_outputs() -> None:
    bare = step_template(json.dumps({"name": "x", "container": {}}), 1000)
    assert not bare.reports_outputs(False)
    assert bare.reports_outputs(True)  # a later step reads its result
    assert step_template(json.dumps(TEMPLATE), 10_000).reports_outputs(False)
    assert step_template(json.dumps({"daemon": True}), 100).daemon


def test_simulated_values_are_a_bounded_json_object_of_names() -> None:
    assert simulated_values(None, 100) == {}
    assert simulated_values('{"choice": "heads", "n": 3, "items": [1, "a"]}', 1000) == {
        "choice": "heads",
        "n": "3",
        "items": '[1,"a"]',
    }
    for bad, reason in [
        ('{"a": "' + "x" * 200 + '"}', "sim-outputs-too-large"),
        ("{", "bad-sim-outputs"),
        ('["a"]', "bad-sim-outputs"),
        ('{"bad name": "x"}', "bad-sim-outputs"),
        ('{"a": null}', "bad-sim-outputs"),
    ]:
        with pytest.raises(UnusablePodError) as caught:
            simulated_values(bad, 100)
        assert caught.value.reason == reason, bad


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_parameters_take_the_recorded_value_then_the_default_then_a_placeholder() -> None:
    built = emulated_outputs(
        step_template(json.dumps(TEMPLATE), 10_000), {"size": "42"}, False, "simulated"
    )
    parameters = by_name(built["parameters"])
    assert parameters["choice"]["value"] == "simulated"
    assert parameters["size"]["value"] == "42"
    assert parameters["fixed"] == {"name": "fixed", "value": "as written"}
    assert "value" not in parameters["supplied"]  # the controller resolves it
    defaulted = emulated_outputs(step_template(json.dumps(TEMPLATE), 10_000), {}, False, "p")
    assert by_name(defaulted["parameters"])["size"]["value"] == "7"
    branched = emulated_outputs(
        step_template(json.dumps(TEMPLATE), 10_000), {}, False, "p", {"choice": "heads"}
    )
    assert by_name(branched["parameters"])["choice"]["value"] == "heads"
    assert "result" not in branched


def test_the_result_is_reported_only_when_a_later_step_reads_it() -> None:
    script = step_template(json.dumps({"name": "flip", "script": {}}), 1000)
    assert emulated_outputs(script, {}, False, "simulated") == {}
    assert emulated_outputs(script, {}, True, "simulated") == {"result": "simulated"}
    assert emulated_outputs(script, {}, True, "s", {"result": "tails"}) == {"result": "tails"}
    assert emulated_outputs(script, {"result": "heads"}, True, "s", {"result": "t"}) == {
        "result": "heads"
    }
    assert needs_values(script, {}, True)
    assert not needs_values(script, {"result": "x"}, True)
    assert not needs_values(script, {}, False)


def test_artifacts_get_the_key_argoexec_uploads_them_to() -> None:
    built = emulated_outputs(step_template(json.dumps(TEMPLATE), 10_000), {}, False, "s")
    artifacts = by_name(built["artifacts"])
    base = "wf-abc/wf-abc-generate-1"
    assert artifacts["data"] == {
        "name": "data",
        "path": "/tmp/data",
        "s3": {"key": f"{base}/data.tgz"},
    }
    assert artifacts["zipped"]["s3"] == {"key": f"{base}/zipped.zip"}
    assert artifacts["raw-file"]["s3"] == {"key": f"{base}/out.txt"}
    assert artifacts["kept"]["s3"] == {"key": "proj/own/key"}
    nowhere = emulated_outputs(
        step_template(json.dumps(template(archiveLocation={})), 10_000), {}, False, "s"
    )
    assert by_name(nowhere["artifacts"])["data"] == {"name": "data", "path": "/tmp/data"}


def test_the_task_result_is_what_the_controller_selects_and_owned_by_the_workflow() -> None:
    step = parsed()
    document = task_result(step, {"result": "x"})
    assert document["kind"] == "WorkflowTaskResult"
    assert document["metadata"]["name"] == "wf-abc-1234"
    assert document["metadata"]["labels"] == {
        "workflows.argoproj.io/workflow": "wf-abc",
        "workflows.argoproj.io/report-outputs-completed": "true",
        "simpipe.io/emulated": "true",
    }
    owner = document["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Workflow", "wf-abc", WORKFLOW_UID)
    assert document["outputs"] == {"result": "x"}
    assert "outputs" not in task_result(step, {})
    instance = pod()
    instance["metadata"]["labels"]["workflows.argoproj.io/controller-instanceid"] = "ci-1"
    labels = task_result(step_pod(instance, KIND), {})["metadata"]["labels"]
    assert labels["workflows.argoproj.io/controller-instanceid"] == "ci-1"


def test_step_names_of_argo_node_names() -> None:
    assert step_name("wf-abc[0].flip-coin") == "flip-coin"
    assert step_name("wf.A") == "A"
    assert step_name("wf[0].loop(0:a.b)") == "loop"
    assert step_name('wf[1].sub[0].B(2:{"k":"v.w"})') == "B"
    assert step_name("wf[0].retry(1)") == "retry"


def test_branch_values_are_the_first_literal_a_when_compares_with() -> None:
    workflow = {
        "spec": {
            "templates": [
                {
                    "steps": [
                        [{"name": "h", "when": "{{steps.flip.outputs.result}} == heads"}],
                        [{"name": "t", "when": '"tails" == "{{steps.flip.outputs.result}}"'}],
                        [{"name": "g", "when": "{{tasks.gen.outputs.parameters.n}} == '5'"}],
                        [{"name": "r", "when": "{{steps.flip.outputs.result}} =~ hea"}],
                    ]
                }
            ]
        }
    }
    assert branch_values(workflow, "flip") == {"result": "heads"}
    assert branch_values(workflow, "gen") == {"n": "5"}
    assert branch_values(workflow, "other") == {}
    stored = {"spec": {}, "status": {"storedWorkflowTemplateSpec": workflow["spec"]}}
    assert branch_values(stored, "flip") == {"result": "heads"}


def test_outputs_a_loop_iterates_over_or_counts_with_get_values_of_that_shape() -> None:
    workflow = {
        "spec": {
            "templates": [
                {
                    "steps": [
                        [{"name": "each", "withParam": "{{steps.gen.outputs.result}}"}],
                        [
                            {
                                "name": "n",
                                "withSequence": {"count": "{{steps.size.outputs.parameters.n}}"},
                            }
                        ],
                        [{"name": "w", "when": "{{steps.size.outputs.parameters.n}} == 3"}],
                    ]
                }
            ]
        }
    }
    assert branch_values(workflow, "gen") == {"result": "[]"}
    # A literal a `when` names wins over the shape a loop asks for.
    assert branch_values(workflow, "size") == {"n": "3"}
    del workflow["spec"]["templates"][0]["steps"][2]
    assert branch_values(workflow, "size") == {"n": "1"}


def test_a_daemons_run_time_is_a_go_duration() -> None:
    start = datetime(2026, 12, 4, 8, 0, 0, tzinfo=UTC)
    assert ran_for(start, start + timedelta(seconds=12, milliseconds=345)) == "12.345s"
    assert ran_for(start, start - timedelta(seconds=1)) == "0.000s"
    assert ran_for(None, start) is None


def test_a_daemon_ends_when_argo_lets_its_node_go_or_its_workflow_ends() -> None:
    def workflow(phase: str, node_phase: str | None) -> dict[str, Any]:
        nodes = {} if node_phase is None else {"n1": {"phase": node_phase}}
        return {"status": {"phase": phase, "nodes": nodes}}

    assert daemon_stop_reason(None, "n1") == "workflow deleted"
    assert daemon_stop_reason(workflow("Running", "Running"), "n1") is None
    assert daemon_stop_reason(workflow("Running", None), "n1") is None
    assert daemon_stop_reason(workflow("Running", "Succeeded"), "n1") == "node Succeeded"
    assert daemon_stop_reason(workflow("Failed", "Running"), "n1") == "workflow Failed"


class Settings(EmulationSettings, KubernetesSettings):
    emulation_daemon_check_seconds: float = 0.02
    emulation_workers: int = 2


class FakeKube(EmulationKube):
    """The Kubernetes API as the emulation sees it, in memory."""

    def __init__(self, nodes: dict[str, str]) -> None:
        super().__init__(lambda: None, 1.0)  # type: ignore[arg-type, return-value]
        self.nodes = nodes  # name -> kind ("" for a node KWOK does not manage)
        self.results: dict[str, dict[str, Any]] = {}
        self.annotations: dict[str, dict[str, str]] = {}
        self.workflows: dict[str, dict[str, Any]] = {}
        self.failures = 0  # calls to fail before answering
        self.changed = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def _fail_maybe(self) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("apiserver away")

    def _changed(self) -> None:
        self.loop.call_soon_threadsafe(self.changed.set)

    def create_task_result(self, document: dict[str, Any]) -> bool:
        self._fail_maybe()
        name = document["metadata"]["name"]
        created = name not in self.results
        self.results.setdefault(name, document)
        self._changed()
        return created

    def node_kind(self, name: str, kind_label: str) -> str | None:
        return self.nodes.get(name)

    def config_map_value(self, namespace: str, name: str, key: str) -> str | None:
        return json.dumps(TEMPLATE) if key == "ARGO_TEMPLATE" else None

    def annotate_pod(self, namespace: str, name: str, annotations: dict[str, str]) -> bool:
        self.annotations.setdefault(name, {}).update(annotations)
        self._changed()
        return True

    def workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.workflows.get(name)


async def until(kube: FakeKube, condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            kube.changed.clear()
            await kube.changed.wait()


@asynccontextmanager
async def emulating(kube: FakeKube) -> AsyncIterator[Emulator]:
    emulator = Emulator(Settings(), kube)
    task = asyncio.create_task(emulator.run())
    try:
        yield emulator
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_virtual_steps_get_their_task_result_and_real_ones_are_left_alone() -> None:
    kube = FakeKube({"kwok-node-0": "kwok", "simpipe-node": "", "labelled": "real"})
    async with emulating(kube) as emulator:
        emulator.receive(pod(node_name="simpipe-node", uid="u1"), False)
        emulator.receive(pod(node_name="", selector={}, uid="u2", name="p2"), False)
        emulator.receive(pod(node_name="labelled", selector={}, uid="u3", name="p3"), False)
        # Unbound, but its selector admits only virtual nodes: handled at once.
        emulator.receive(
            pod(
                node_name="",
                uid="u4",
                name="p4",
                annotations={"simpipe.io/sim-outputs": '{"choice": "tails"}'},
            ),
            False,
        )
        await until(kube, lambda: "wf-abc-1234" in kube.results)
    result = kube.results["wf-abc-1234"]
    assert len(kube.results) == 1
    parameters = {p["name"]: p.get("value") for p in result["outputs"]["parameters"]}
    assert parameters["choice"] == "tails"
    assert parameters["size"] == "7"


async def test_a_result_written_before_a_restart_is_kept_and_bad_outputs_fall_back() -> None:
    kube = FakeKube({"kwok-node-0": "kwok"})
    kube.results["wf-abc-1234"] = {"metadata": {"name": "wf-abc-1234"}, "kept": True}
    async with emulating(kube) as emulator:
        emulator.receive(pod(annotations={"simpipe.io/sim-outputs": "{broken"}), False)
        emulator.receive(pod(uid="u9", name="p9", annotations={
            "workflows.argoproj.io/node-id": "wf-abc-99",
            "simpipe.io/sim-outputs": '{"choice": ' + '"x' * 200_000 + '"}',
        }), False)  # fmt: skip
        await until(kube, lambda: "wf-abc-99" in kube.results)
    assert kube.results["wf-abc-1234"]["kept"]
    parameters = {
        p["name"]: p.get("value") for p in kube.results["wf-abc-99"]["outputs"]["parameters"]
    }
    assert parameters["choice"] == "simulated"


async def test_an_unusable_pod_is_skipped_and_an_api_failure_retried() -> None:
    kube = FakeKube({"kwok-node-0": "kwok"})
    kube.failures = 2
    async with emulating(kube) as emulator:
        emulator.receive(pod(template="{not json", uid="bad", name="bad"), False)
        emulator.receive(pod(), False)
        await until(kube, lambda: "wf-abc-1234" in kube.results)
    assert list(kube.results) == ["wf-abc-1234"]


async def test_offloaded_templates_are_read_from_their_config_map() -> None:
    kube = FakeKube({"kwok-node-0": "kwok"})
    async with emulating(kube) as emulator:
        emulator.receive(pod(template="offloaded"), False)
        await until(kube, lambda: "wf-abc-1234" in kube.results)


async def test_a_virtual_daemon_is_held_until_argo_lets_its_node_go() -> None:
    kube = FakeKube({"kwok-node-0": "kwok"})
    daemon = {"name": "db", "daemon": True, "container": {}}
    kube.workflows["wf-abc"] = {
        "status": {"phase": "Running", "nodes": {"wf-abc-1234": {"phase": "Running"}}}
    }
    async with emulating(kube) as emulator:
        pending = pod(template=daemon, phase="Pending")
        del pending["status"]["startTime"]
        emulator.receive(pending, False)
        emulator.receive(pod(template=daemon), False)  # started while the first is handled
        await until(kube, lambda: bool(kube.annotations))
        held = kube.annotations["wf-abc-generate-1"]
        assert held == {"simpipe.io/sim-daemon": "true", "simpipe.io/sim-duration": "87600h"}
        kube.workflows["wf-abc"]["status"]["nodes"]["wf-abc-1234"]["phase"] = "Succeeded"
        await until(kube, lambda: "simpipe.io/sim-stop" in kube.annotations["wf-abc-generate-1"])
    ended = kube.annotations["wf-abc-generate-1"]
    assert ended["simpipe.io/sim-duration"] == "0s"
    # How long it ran, from its start: its usage series end there.
    assert float(ended["simpipe.io/sim-ran"].removesuffix("s")) > 60
    assert kube.results == {}  # a daemon without outputs reports nothing
