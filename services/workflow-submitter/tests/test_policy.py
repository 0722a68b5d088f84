"""The workflow policy: what a user's document may hold (an allowlist), what
the service sets in it, and every refusal typed and naming its field."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simpipe_common.errors import InvalidArgoDocumentError
from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_OWNER_HASH, owner_hash
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import Layout
from simpipe_workflow_submitter.config import WorkflowPolicySettings
from simpipe_workflow_submitter.documents import REASONS, WORKFLOW, WORKFLOW_TEMPLATE
from simpipe_workflow_submitter.policy import Scope, WorkflowPolicy

SETTINGS = WorkflowPolicySettings()
POLICY = WorkflowPolicy(SETTINGS)
ALICE = Scope("alice@example.org", "proj")
KEYS = ALICE.artifact_key_prefix

BASE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: x, value: "1"}]}
  templates:
  - name: main
    steps: [[{name: work, template: work, arguments: {parameters: [{name: x, value: "{{workflow.parameters.x}}"}]}}]]
  - name: work
    inputs: {parameters: [{name: x}]}
    outputs: {artifacts: [{name: out, path: /tmp/out}]}
    container:
      image: "busybox:{{inputs.parameters.x}}"
      command: [sh, -c, "echo {{inputs.parameters.x}} > /tmp/out"]
  - name: script
    script: {image: python, command: [python], source: "print(1)"}
"""


def base() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(BASE)
    return document


def placed(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """`document` with `value` at `path` (mappings made on the way)."""
    node: Any = document
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    return document


def refusal(document: dict[str, Any], kind: str = WORKFLOW, scope: Scope = ALICE) -> str:
    with pytest.raises(InvalidArgoDocumentError) as caught:
        POLICY.admit(document, kind, scope)
    assert caught.value.reason == REASONS[kind]
    return caught.value.message


CONTAINER = ("spec", "templates", 1, "container")
SECURITY = (*CONTAINER, "securityContext")
TEMPLATE = ("spec", "templates", 1)
SPEC = ("spec",)
OTHERS_SECRET = {"name": "argo-s3", "key": "secretkey"}

# (where, what, the path the refusal names)
REFUSED: list[tuple[tuple[str | int, ...], Any, str]] = [
    # Pod Security `restricted`, container and pod level.
    ((*SECURITY, "privileged"), True, "spec.templates[1].container.securityContext.privileged"),
    ((*SECURITY, "allowPrivilegeEscalation"), True, "securityContext.allowPrivilegeEscalation"),
    ((*SECURITY, "runAsUser"), 0, "container.securityContext.runAsUser"),
    ((*SECURITY, "runAsNonRoot"), False, "container.securityContext.runAsNonRoot"),
    ((*SECURITY, "capabilities"), {"add": ["SYS_ADMIN"]}, "securityContext.capabilities.add[0]"),
    ((*SECURITY, "capabilities"), {"drop": ["NET_RAW"]}, "securityContext.capabilities.drop"),
    ((*SECURITY, "seccompProfile"), {"type": "Unconfined"}, "securityContext.seccompProfile.type"),
    ((*SECURITY, "appArmorProfile"), {"type": "Unconfined"}, "appArmorProfile.type"),
    ((*SECURITY, "seLinuxOptions"), {"type": "spc_t"}, "securityContext.seLinuxOptions"),
    ((*SECURITY, "windowsOptions"), {"hostProcess": True}, "securityContext.windowsOptions"),
    ((*SECURITY, "procMount"), "Unmasked", "securityContext.procMount"),
    ((*SPEC, "securityContext"), {"runAsUser": 0}, "spec.securityContext.runAsUser"),
    ((*TEMPLATE, "securityContext"), {"runAsNonRoot": False}, "templates[1].securityContext.runAsNonRoot"),
    ((*TEMPLATE, "securityContext"), {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]}, "securityContext.sysctls"),
    # Host access.
    ((*SPEC, "hostNetwork"), True, "spec.hostNetwork"),
    ((*SPEC, "hostPID"), True, "spec.hostPID"),
    ((*SPEC, "hostIPC"), True, "spec.hostIPC"),
    ((*SPEC, "hostAliases"), [{"ip": "10.0.0.1", "hostnames": ["s3"]}], "spec.hostAliases"),
    ((*TEMPLATE, "hostAliases"), [], "spec.templates[1].hostAliases"),
    ((*CONTAINER, "ports"), [{"containerPort": 80, "hostPort": 80}], "container.ports[0].hostPort"),
    ((*SPEC, "dnsPolicy"), "Default", "spec.dnsPolicy"),
    ((*SPEC, "dnsConfig"), {"nameservers": ["1.1.1.1"]}, "spec.dnsConfig"),
    ((*CONTAINER, "livenessProbe"), {"httpGet": {"host": "10.244.0.1", "port": 10250}}, "livenessProbe.httpGet.host"),
    ((*CONTAINER, "volumeMounts"), [{"name": "v", "mountPath": "/v", "mountPropagation": "Bidirectional"}], "volumeMounts[0].mountPropagation"),
    # Service accounts and their tokens.
    ((*SPEC, "serviceAccountName"), "default", "spec.serviceAccountName"),
    ((*SPEC, "automountServiceAccountToken"), True, "spec.automountServiceAccountToken"),
    ((*SPEC, "executor"), {"serviceAccountName": "argo-server"}, "spec.executor.serviceAccountName"),
    ((*TEMPLATE, "serviceAccountName"), "argo", "spec.templates[1].serviceAccountName"),
    ((*TEMPLATE, "automountServiceAccountToken"), True, "templates[1].automountServiceAccountToken"),
    ((*TEMPLATE, "executor"), {"serviceAccountName": "simpipe-executor"}, "templates[1].executor"),
    # Volumes.
    ((*SPEC, "volumes"), [{"name": "root", "hostPath": {"path": "/"}}], "spec.volumes[0].hostPath"),
    ((*SPEC, "volumes"), [{"name": "n", "nfs": {"server": "s", "path": "/"}}], "spec.volumes[0].nfs"),
    ((*SPEC, "volumes"), [{"name": "c", "csi": {"driver": "d"}}], "spec.volumes[0].csi"),
    ((*SPEC, "volumes"), [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}], "spec.volumes[0].projected"),
    ((*SPEC, "volumes"), [{"name": "d", "downwardAPI": {}}], "spec.volumes[0].downwardAPI"),
    ((*SPEC, "volumes"), [{"name": "e", "ephemeral": {}}], "spec.volumes[0].ephemeral"),
    ((*SPEC, "volumes"), [{"name": "s", "secret": {"secretName": "argo-s3"}}], "spec.volumes[0].secret.secretName"),
    # Project `proj`'s prefix is not the beginning of project `proj-b`'s.
    ((*SPEC, "volumes"), [{"name": "s", "secret": {"secretName": "simpipe-proj-b.keys"}}], "secret.secretName"),
    ((*SPEC, "volumes"), [{"name": "s", "secret": {"secretName": "simpipe-proj-s3"}}], "secret.secretName"),
    ((*TEMPLATE, "volumes"), [{"name": "c", "configMap": {"name": "workflow-controller-configmap"}}], "templates[1].volumes[0].configMap.name"),
    ((*SPEC, "volumes"), [{"name": "p", "persistentVolumeClaim": {"claimName": "other"}}], "persistentVolumeClaim.claimName"),
    ((*SPEC, "volumes"), [{"name": "s", "secret": {"secretName": "simpipe-proj.{{workflow.parameters.x}}"}}], "secret.secretName"),
    ((*SPEC, "volumeClaimTemplates"), [{"metadata": {"name": "w"}, "spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "theirs"}}}], "volumeClaimTemplates[0].spec.dataSource"),
    ((*SPEC, "volumeClaimTemplates"), [{"metadata": {"name": "w"}, "spec": {"storageClassName": "host"}}], "spec.storageClassName"),
    # Argo's own volume (the executor's token) is not the user's to mount.
    ((*CONTAINER, "volumeMounts"), [{"name": "exec-sa-token", "mountPath": "/t"}], "container.volumeMounts[0].name"),
    # Secrets and ConfigMaps through the environment.
    ((*CONTAINER, "env"), [{"name": "K", "valueFrom": {"secretKeyRef": OTHERS_SECRET}}], "env[0].valueFrom.secretKeyRef.name"),
    ((*CONTAINER, "env"), [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}], "configMapKeyRef.name"),
    ((*CONTAINER, "envFrom"), [{"secretRef": {"name": "argo-postgres"}}], "envFrom[0].secretRef.name"),
    ((*CONTAINER, "envFrom"), [{"configMapRef": {"name": "simpipe-config"}}], "envFrom[0].configMapRef.name"),
    (("spec", "arguments", "parameters", 0, "valueFrom"), {"configMapKeyRef": {"name": "x", "key": "k"}}, "parameters[0].valueFrom.configMapKeyRef.name"),
    ((*SPEC, "imagePullSecrets"), [{"name": "registry"}], "spec.imagePullSecrets[0].name"),
    # Artifacts: repositories, locations, keys.
    ((*SPEC, "artifactRepositoryRef"), {"configMap": "artifact-repositories"}, "spec.artifactRepositoryRef"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "s3"), {"bucket": "simpipe-reports", "key": f"{KEYS}x"}, "outputs.artifacts[0].s3.bucket"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "s3"), {"key": "another-owner/x"}, "outputs.artifacts[0].s3.key"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "s3"), {"key": f"{KEYS}../x"}, "outputs.artifacts[0].s3.key"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "s3"), {"key": f"{KEYS}x", "accessKeySecret": OTHERS_SECRET}, "s3.accessKeySecret"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "gcs"), {"bucket": "b", "key": "k"}, "outputs.artifacts[0].gcs"),
    ((*TEMPLATE, "outputs", "artifacts", 0, "artifactGC"), {"strategy": "OnWorkflowDeletion"}, "artifacts[0].artifactGC"),
    ((*TEMPLATE, "inputs", "artifacts"), [{"name": "i", "path": "/i", "http": {"url": "http://10.244.0.1:9000"}}], "inputs.artifacts[0].http"),
    ((*TEMPLATE, "inputs", "artifacts"), [{"name": "i", "path": "/i", "git": {"repo": "r"}}], "inputs.artifacts[0].git"),
    ((*TEMPLATE, "archiveLocation"), {"s3": {"bucket": "b", "key": "k"}}, "archiveLocation.s3"),
    ((*SPEC, "artifactGC"), {"strategy": "OnWorkflowCompletion"}, "spec.artifactGC"),
    # Other workflows and templates.
    ((*SPEC, "workflowTemplateRef"), {"name": "t", "clusterScope": True}, "workflowTemplateRef.clusterScope"),
    (("spec", "templates", 0, "steps", 0, 0, "templateRef"), {"name": "t", "template": "m", "clusterScope": True}, "steps[0][0].templateRef.clusterScope"),
    (("spec", "templates", 0, "steps", 0, 0, "templateRef"), {"name": "{{item}}", "template": "m"}, "steps[0][0].templateRef.name"),
    ((*SPEC, "podSpecPatch"), '{"hostPID": true}', "spec.podSpecPatch"),
    ((*TEMPLATE, "podSpecPatch"), "{{inputs.parameters.x}}", "spec.templates[1].podSpecPatch"),
    # Ownership labels and annotations.
    ((*SPEC, "workflowMetadata"), {"labels": {LABEL_OWNER_HASH: owner_hash("bob")}}, 'workflowMetadata.labels["simpipe.io/owner-hash"]'),
    ((*SPEC, "workflowMetadata"), {"labelsFrom": {"simpipe.io/project": {"expression": "'b'"}}}, 'labelsFrom["simpipe.io/project"]'),
    ((*SPEC, "podMetadata"), {"annotations": {ANNOTATION_OWNER: "bob"}}, 'podMetadata.annotations["simpipe.io/owner"]'),
    ((*TEMPLATE, "metadata"), {"labels": {"simpipe.io/managed": "true"}}, 'templates[1].metadata.labels["simpipe.io/managed"]'),
    ((*TEMPLATE, "metadata"), {"annotations": {"iam.amazonaws.com/role": "admin"}}, 'metadata.annotations["iam.amazonaws.com/role"]'),
    (("metadata", "labels"), {"workflows.argoproj.io/controller-instanceid": "other"}, 'metadata.labels["workflows.argoproj.io/controller-instanceid"]'),
    (("metadata", "annotations"), {"simpipe.io/policy-exempt": "yes"}, 'metadata.annotations["simpipe.io/policy-exempt"]'),
    (("metadata", "ownerReferences"), [], "metadata.ownerReferences"),
    (("status",), {"storedWorkflowTemplateSpec": {}}, "status"),
    # Placement and scheduling: typed options, not document fields.
    ((*SPEC, "nodeSelector"), {"simpipe.io/node-kind": "real"}, "spec.nodeSelector"),
    ((*SPEC, "tolerations"), [{"operator": "Exists"}], "spec.tolerations"),
    ((*SPEC, "affinity"), {}, "spec.affinity"),
    ((*SPEC, "schedulerName"), "other", "spec.schedulerName"),
    ((*SPEC, "podPriorityClassName"), "system-node-critical", "spec.podPriorityClassName"),
    ((*TEMPLATE, "nodeSelector"), {}, "spec.templates[1].nodeSelector"),
    ((*TEMPLATE, "tolerations"), [], "spec.templates[1].tolerations"),
    ((*TEMPLATE, "priorityClassName"), "high", "spec.templates[1].priorityClassName"),
    (("spec", "templateDefaults", "nodeSelector"), {}, "spec.templateDefaults.nodeSelector"),
    ((*CONTAINER, "resources"), {"limits": {"nvidia.com/gpu": 1}}, 'resources.limits["nvidia.com/gpu"]'),
    # Template kinds beyond a pod of the workflow's own.
    ((*TEMPLATE, "resource"), {"action": "create", "manifest": "kind: Pod"}, "spec.templates[1].resource"),
    ((*TEMPLATE, "http"), {"url": "https://kubernetes.default"}, "spec.templates[1].http"),
    ((*TEMPLATE, "data"), {"source": {}}, "spec.templates[1].data"),
    ((*TEMPLATE, "plugin"), {"x": {}}, "spec.templates[1].plugin"),
    # Containers beside the main one, and templates inside others.
    ((*TEMPLATE, "sidecars"), [{"name": "s", "image": "docker:dind", "securityContext": {"privileged": True}}], "sidecars[0].securityContext.privileged"),
    ((*TEMPLATE, "initContainers"), [{"name": "i", "image": "i", "env": [{"name": "K", "valueFrom": {"secretKeyRef": OTHERS_SECRET}}]}], "initContainers[0].env[0].valueFrom.secretKeyRef.name"),
    (("spec", "templates", 2, "script", "securityContext"), {"runAsUser": 0}, "templates[2].script.securityContext.runAsUser"),
    (("spec", "templates", 0, "steps", 0, 0, "inline"), {"container": {"image": "i", "securityContext": {"privileged": True}}}, "steps[0][0].inline.container.securityContext.privileged"),
    ((*SPEC, "templateDefaults"), {"container": {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}}, "templateDefaults.container.securityContext.capabilities.add[0]"),
    # Shared or cluster-wide things.
    ((*SPEC, "synchronization"), {"mutex": {"name": "m"}}, "spec.synchronization"),
    ((*SPEC, "metrics"), {"prometheus": []}, "spec.metrics"),
    ((*SPEC, "podDisruptionBudget"), {"minAvailable": 1}, "spec.podDisruptionBudget"),
    ((*SPEC, "priority"), 100, "spec.priority"),
    ((*TEMPLATE, "memoize"), {"key": "k", "cache": {"configMap": {"name": "workflow-controller-configmap"}}}, "memoize.cache.configMap.name"),
    # Bounds.
    ((*SPEC, "activeDeadlineSeconds"), SETTINGS.max_active_deadline_seconds + 1, "spec.activeDeadlineSeconds"),
    (("spec", "templates", 0, "steps", 0, 0, "withItems"), list(range(SETTINGS.max_list_items + 1)), "steps[0][0].withItems"),
    (("spec", "templates", 0, "steps", 0, 0, "withSequence"), {"count": SETTINGS.max_list_items + 1}, "withSequence.count"),
    ((*TEMPLATE, "retryStrategy"), {"limit": 1_000_000}, "retryStrategy.limit"),
    ((*SPEC, "parallelism"), 2**40, "spec.parallelism"),
]  # fmt: skip


@pytest.mark.parametrize(("where", "what", "named"), REFUSED, ids=[r[2] for r in REFUSED])
def test_each_field_family_is_refused_with_its_path(
    where: tuple[str | int, ...], what: Any, named: str
) -> None:
    message = refusal(placed(base(), where, what))
    assert message.startswith("workflow policy: ")
    assert named in message


@pytest.mark.parametrize(("where", "what", "named"), REFUSED[:20], ids=[r[2] for r in REFUSED[:20]])
def test_a_workflow_template_is_held_to_the_same_policy(
    where: tuple[str | int, ...], what: Any, named: str
) -> None:
    document = placed(base(), where, what)
    document["kind"] = WORKFLOW_TEMPLATE
    assert named in refusal(document, WORKFLOW_TEMPLATE)


def test_the_service_sets_accounts_and_pod_security_where_the_document_is_silent() -> None:
    document = base()
    assert POLICY.admit(document, WORKFLOW, ALICE).template_refs == {}
    spec = document["spec"]
    assert spec["serviceAccountName"] == SETTINGS.workflow_service_account == "simpipe-workflow"
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": "simpipe-executor"}
    uid = SETTINGS.workflow_run_as_user
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    restricted = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert spec["templates"][1]["container"]["securityContext"] == restricted
    assert spec["templates"][2]["script"]["securityContext"] == restricted
    # Placeholders in images and commands are the user's to write.
    assert spec["templates"][1]["container"]["image"] == "busybox:{{inputs.parameters.x}}"


def test_values_within_the_policy_are_kept_and_completed() -> None:
    document = base()
    placed(
        document,
        (*SECURITY,),
        {"runAsUser": 1000, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
    )
    # A template's own pod context replaces the workflow's in Argo: it is completed too.
    placed(document, (*TEMPLATE, "securityContext"), {"runAsUser": 2000})
    POLICY.admit(document, WORKFLOW, ALICE)
    container = document["spec"]["templates"][1]["container"]["securityContext"]
    assert container == {
        "runAsUser": 1000,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "allowPrivilegeEscalation": False,
    }
    pod = document["spec"]["templates"][1]["securityContext"]
    assert pod["runAsUser"] == 2000
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "runAsGroup" not in pod  # the user chose the uid; the group stays theirs


def test_the_projects_own_objects_and_keys_are_allowed() -> None:
    document = base()
    placed(document, (*SPEC, "volumes"), [
        {"name": "keys", "secret": {"secretName": "simpipe-proj.keys"}},
        {"name": "conf", "configMap": {"name": "simpipe-proj.conf"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "simpipe-proj.data"}},
        {"name": "scratch", "emptyDir": {"medium": "Memory"}},
    ])  # fmt: skip
    placed(document, (*CONTAINER, "volumeMounts"), [{"name": "keys", "mountPath": "/keys"}])
    placed(document, (*CONTAINER, "env"), [
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "simpipe-proj.keys", "key": "k"}}},
    ])  # fmt: skip
    placed(
        document,
        (*TEMPLATE, "outputs", "artifacts", 0, "s3"),
        {"key": f"{KEYS}{{{{workflow.name}}}}/out"},
    )
    POLICY.admit(document, WORKFLOW, ALICE)
    # Outside any project there are no project objects to name.
    outside = placed(
        base(), (*SPEC, "volumes"), [{"name": "k", "secret": {"secretName": "simpipe-proj.keys"}}]
    )
    assert "outside a project" in refusal(outside, scope=Scope("alice@example.org", ""))


def test_what_the_service_stamps_on_the_object_is_dropped_for_it_to_stamp_again() -> None:
    document = base()
    document["metadata"].update(
        labels={LABEL_OWNER_HASH: owner_hash("bob"), "team": "a"},
        annotations={ANNOTATION_OWNER: "bob", "workflows.argoproj.io/description": "d"},
        resourceVersion="12",
        uid="u",
    )
    POLICY.admit(document, WORKFLOW, ALICE)
    assert document["metadata"] == {
        "generateName": "demo-",
        "labels": {"team": "a"},
        "annotations": {"workflows.argoproj.io/description": "d"},
    }


def test_referenced_templates_are_returned_with_where_they_are_named() -> None:
    document = base()
    placed(
        document,
        ("spec", "templates", 0, "steps", 0, 0, "templateRef"),
        {"name": "lib", "template": "t"},
    )
    placed(
        document, (*SPEC, "hooks"), {"exit": {"templateRef": {"name": "cleanup", "template": "t"}}}
    )
    checked = POLICY.admit(document, WORKFLOW, ALICE)
    assert checked.template_refs == {
        "lib": "spec.templates[0].steps[0][0].templateRef.name",
        "cleanup": "spec.hooks.exit.templateRef.name",
    }
    by_ref = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {},
              "spec": {"workflowTemplateRef": {"name": "pipeline"}}}  # fmt: skip
    assert POLICY.admit(by_ref, WORKFLOW, ALICE).template_refs == {
        "pipeline": "spec.workflowTemplateRef.name"
    }


def test_a_stored_document_must_carry_the_defaults_already() -> None:
    stored = base()
    assert "container.securityContext: missing" in refusal_on_verify(stored)
    POLICY.admit(stored, WORKFLOW, ALICE)
    POLICY.verify(stored, WORKFLOW, ALICE)
    lacking = copy.deepcopy(stored)
    del lacking["spec"]["templates"][1]["container"]["securityContext"]["allowPrivilegeEscalation"]
    assert "securityContext.allowPrivilegeEscalation: missing" in refusal_on_verify(lacking)
    lacking = copy.deepcopy(stored)
    del lacking["spec"]["serviceAccountName"]
    assert "spec.serviceAccountName: missing" in refusal_on_verify(lacking)


def refusal_on_verify(document: dict[str, Any]) -> str:
    with pytest.raises(InvalidArgoDocumentError) as caught:
        POLICY.verify(document, WORKFLOW, ALICE)
    return caught.value.message


REPO = Path(__file__).parents[3]
ARGO_EXAMPLES = (
    Layout.from_env().cache / "go" / "mod" / "github.com" / "argoproj" / "argo-workflows"
    / f"v3@{Layout.from_env().versions['ARGO_VERSION']}" / "examples"
)  # fmt: skip
# Argo's examples the policy admits (the file says why the others are not).
ARGO_EXAMPLES_ADMITTED = frozenset(
    line
    for line in (Path(__file__).parent / "argo-examples-admitted.txt").read_text().splitlines()
    if line and not line.startswith("#")
)


def baseline() -> list[tuple[str, dict[str, Any]]]:
    """Documents that run as they are once the service has set its defaults."""
    service = argo_service("http://unused")
    found = [
        ("example simulated", simulated_pipeline(EXAMPLE_STEPS, service).to_dict()),
        ("example real", real_pipeline(EXAMPLE_REAL_STEPS, service).to_dict()),
    ]
    for path in sorted((REPO / "tests" / "examples").glob("*.yaml")):
        found.append((path.name, yaml.safe_load(path.read_text())))
    return found


def argo_examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(ARGO_EXAMPLES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") in (WORKFLOW, WORKFLOW_TEMPLATE):
                metadata = document.setdefault("metadata", {})
                # Marks of Argo's own test suite, not something users write.
                (metadata.get("labels") or {}).pop("workflows.argoproj.io/test", None)
                (metadata.get("annotations") or {}).pop("workflows.argoproj.io/verify.py", None)
                found.append((path.stem, document))
    return found


@pytest.mark.parametrize(("name", "document"), baseline(), ids=[n for n, _ in baseline()])
def test_the_example_pipelines_are_admitted_and_then_stable(
    name: str, document: dict[str, Any]
) -> None:
    admitted_and_stable(document)


def admitted_and_stable(document: dict[str, Any]) -> None:
    kind = document["kind"]
    POLICY.admit(document, kind, ALICE)
    json.dumps(document)  # still plain JSON for Argo
    # What the service wrote passes as stored, and a second pass changes nothing.
    again = copy.deepcopy(document)
    POLICY.verify(again, kind, ALICE)
    POLICY.admit(again, kind, ALICE)
    assert again == document


@pytest.mark.skipif(
    not ARGO_EXAMPLES.is_dir(), reason=f"no Argo examples at {ARGO_EXAMPLES} (make build)"
)
def test_argos_own_examples_are_admitted_or_refused_with_a_typed_error() -> None:
    admitted: set[str] = set()
    refused: set[str] = set()
    for name, document in argo_examples():
        try:
            admitted_and_stable(document)
        except InvalidArgoDocumentError:
            refused.add(name)
        else:
            admitted.add(name)
    assert admitted - refused == ARGO_EXAMPLES_ADMITTED
    assert len(refused - admitted) > 50
