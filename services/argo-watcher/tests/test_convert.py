import base64
import copy
import gzip
import json
from typing import Any

import pytest

from simpipe.v1 import dry_runs_pb2 as pb
from simpipe.v1 import events_pb2 as phases
from simpipe_argo_watcher.convert import fnv32a, node_phase, pod_name, to_dry_run, workflow_phase
from simpipe_events import contract


def by_name(dry_run: pb.DryRun) -> dict[str, pb.DryRunNode]:
    return {node.display_name: node for node in dry_run.nodes}


def test_a_failed_run_with_its_steps(failed: dict[str, Any]) -> None:
    dry_run = to_dry_run(failed)
    assert (dry_run.id, dry_run.uid) == ("capture-vkfvt", "8d7707fb-cd3b-4049-b456-c91bbfa24e52")
    assert (dry_run.project_id, dry_run.owner) == ("demo", "alice@example.org")
    assert dry_run.created_at.ToJsonString() == "2026-11-25T14:16:28Z"
    assert dry_run.status.phase == phases.DRY_RUN_PHASE_FAILED
    assert dry_run.status.progress == "1/2"
    assert dry_run.status.message == "child 'capture-vkfvt-2349931391' failed"
    assert dry_run.status.finished_at.ToJsonString() == "2026-11-25T14:16:35Z"
    assert not dry_run.archived

    nodes = by_name(dry_run)
    assert sorted(nodes) == ["[0]", "[1]", "capture-vkfvt", "explode", "prepare"]
    prepare, explode = nodes["prepare"], nodes["explode"]
    assert (prepare.type, prepare.phase, prepare.exit_code) == (
        "Pod",
        phases.NODE_PHASE_SUCCEEDED,
        "0",
    )
    assert (explode.phase, explode.exit_code) == (phases.NODE_PHASE_FAILED, "3")
    assert explode.message == "Error (exit code 3)"
    assert explode.template_name == "explode"
    assert explode.duration_seconds == 3  # 14:16:31 -> 14:16:34
    assert dict(prepare.resources_duration) == {"cpu": 0, "memory": 4}
    assert nodes["capture-vkfvt"].type == "Steps"
    assert list(nodes["capture-vkfvt"].children) == ["capture-vkfvt-3674279605"]
    assert nodes["capture-vkfvt"].pod_name == ""  # only Pod nodes have pods


def test_a_big_run_whose_nodes_argo_compressed(failed: dict[str, Any]) -> None:
    """Above its size limit the controller keeps the nodes gzip'ed and base64'ed."""
    big = copy.deepcopy(failed)
    nodes = big["status"].pop("nodes")
    packed = gzip.compress(json.dumps(nodes).encode())
    big["status"]["compressedNodes"] = base64.b64encode(packed).decode()
    assert by_name(to_dry_run(big)) == by_name(to_dry_run(failed))
    assert len(to_dry_run(big).nodes) == len(nodes)


def test_pod_names_are_the_ones_argo_gave_the_pods(failed: dict[str, Any]) -> None:
    # Read from the pods' workflows.argoproj.io/node-id annotations during the run.
    nodes = by_name(to_dry_run(failed))
    assert nodes["prepare"].pod_name == "capture-vkfvt-prepare-1556016048"
    assert nodes["explode"].pod_name == "capture-vkfvt-explode-2349931391"


def test_pod_name_follows_argos_naming_rules() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C  # the FNV-1a test vector
    workflow: dict[str, Any] = {"metadata": {"name": "wf"}}
    node = {"id": "wf-1", "name": "wf[0].step", "templateName": "t"}
    assert pod_name(workflow, node) == f"wf-t-{fnv32a(b'wf[0].step')}"
    assert pod_name(workflow, {**node, "templateRef": {"name": "lib", "template": "u"}}).startswith(
        "wf-u-"
    )
    assert pod_name(workflow, {**node, "name": "wf"}) == "wf"
    long = {"metadata": {"name": "w" * 250}}
    assert len(pod_name(long, node)) <= 253
    v1 = {
        "metadata": {"name": "wf", "annotations": {"workflows.argoproj.io/pod-name-format": "v1"}}
    }
    assert pod_name(v1, node) == "wf-1"


def test_a_running_run_and_its_pending_first_step(
    pending: dict[str, Any], running: dict[str, Any]
) -> None:
    first = to_dry_run(pending)
    assert first.status.phase == phases.DRY_RUN_PHASE_RUNNING
    assert by_name(first)["prepare"].phase == phases.NODE_PHASE_PENDING
    now = to_dry_run(running)
    assert by_name(now)["explode"].phase == phases.NODE_PHASE_RUNNING
    assert by_name(now)["explode"].duration_seconds == 0  # not finished
    assert not now.status.HasField("finished_at")


@pytest.mark.parametrize(
    ("phase", "suspend", "expected"),
    [
        (None, False, phases.DRY_RUN_PHASE_PENDING),
        ("Pending", False, phases.DRY_RUN_PHASE_PENDING),
        ("Running", False, phases.DRY_RUN_PHASE_RUNNING),
        ("Running", True, phases.DRY_RUN_PHASE_SUSPENDED),
        ("Succeeded", False, phases.DRY_RUN_PHASE_SUCCEEDED),
        ("Succeeded", True, phases.DRY_RUN_PHASE_SUCCEEDED),
        ("Failed", False, phases.DRY_RUN_PHASE_FAILED),
        ("Error", False, phases.DRY_RUN_PHASE_ERROR),
        ("Exploded", False, phases.DRY_RUN_PHASE_UNKNOWN),
    ],
)
def test_workflow_phase(phase: str | None, suspend: bool, expected: int) -> None:
    workflow = {"spec": {"suspend": suspend}, "status": {"phase": phase} if phase else {}}
    assert workflow_phase(workflow) == expected


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (None, phases.NODE_PHASE_PENDING),
        ("Pending", phases.NODE_PHASE_PENDING),
        ("Running", phases.NODE_PHASE_RUNNING),
        ("Succeeded", phases.NODE_PHASE_SUCCEEDED),
        ("Skipped", phases.NODE_PHASE_SKIPPED),
        ("Failed", phases.NODE_PHASE_FAILED),
        ("Error", phases.NODE_PHASE_ERROR),
        ("Omitted", phases.NODE_PHASE_OMITTED),
        ("Exploded", phases.NODE_PHASE_UNKNOWN),
    ],
)
def test_node_phase(phase: str | None, expected: int) -> None:
    assert node_phase(phase or "") == expected


def test_argos_phase_names_are_the_contracts() -> None:
    # Event ids and GraphQL carry the contract's names: Argo's spelling.
    for name in ("Pending", "Running", "Succeeded", "Failed", "Error"):
        assert contract.run_phase_name(workflow_phase({"status": {"phase": name}})) == name
    for name in ("Pending", "Running", "Succeeded", "Skipped", "Failed", "Error", "Omitted"):
        assert contract.node_phase_name(node_phase(name)) == name
    assert (
        contract.run_phase_name(
            workflow_phase({"spec": {"suspend": True}, "status": {"phase": "Running"}})
        )
        == "Suspended"
    )


def test_the_workflow_json_is_kept_without_managed_fields(failed: dict[str, Any]) -> None:
    workflow = copy.deepcopy(failed)
    workflow["metadata"]["managedFields"] = [{"manager": "workflow-controller"}]
    kept = json.loads(to_dry_run(workflow).argo_workflow_json)
    assert "managedFields" not in kept["metadata"]
    assert kept["status"]["nodes"].keys() == failed["status"]["nodes"].keys()


def test_an_archived_summary_without_nodes(failed: dict[str, Any]) -> None:
    summary = copy.deepcopy(failed)
    del summary["status"]["nodes"]
    dry_run = to_dry_run(summary, archived=True)
    assert dry_run.archived
    assert list(dry_run.nodes) == []
    assert dry_run.status.phase == phases.DRY_RUN_PHASE_FAILED


def test_a_steps_files_with_their_buckets(failed: dict[str, Any]) -> None:
    workflow = copy.deepcopy(failed)
    # Without the repository Argo records in the status, the default bucket.
    workflow["status"].pop("artifactRepositoryRef", None)
    node = workflow["status"]["nodes"]["capture-vkfvt-2349931391"]
    node["inputs"] = {"artifacts": [{"name": "in", "s3": {"bucket": "uploads", "key": "a.txt"}}]}
    node["outputs"]["artifacts"] = [
        {"name": "main-logs", "s3": {"key": "x/main.log"}},
        {"name": "note", "raw": {"data": "not in S3"}},
    ]
    explode = by_name(to_dry_run(workflow, default_bucket="repo"))["explode"]
    assert [(a.name, a.bucket, a.key) for a in explode.input_artifacts] == [
        ("in", "uploads", "a.txt")
    ]
    assert [(a.name, a.bucket, a.key) for a in explode.output_artifacts] == [
        ("main-logs", "repo", "x/main.log")
    ]
    # The repository Argo recorded wins over the default.
    workflow["status"]["artifactRepositoryRef"] = {"artifactRepository": {"s3": {"bucket": "used"}}}
    explode = by_name(to_dry_run(workflow, default_bucket="repo"))["explode"]
    assert explode.output_artifacts[0].bucket == "used"
