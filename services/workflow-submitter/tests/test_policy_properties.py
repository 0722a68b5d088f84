"""Properties of the workflow policy over generated documents: a forbidden
field inserted anywhere in an admitted document is refused, and a document
of any shape ends either admitted (and stable) or refused with the typed
error, never in another exception."""

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError
from simpipe_workflow_submitter.config import WorkflowPolicySettings
from simpipe_workflow_submitter.documents import WORKFLOW, Bounds, parse
from simpipe_workflow_submitter.policy import Scope, WorkflowPolicy

POLICY = WorkflowPolicy(WorkflowPolicySettings())
SCOPE = Scope("alice@example.org", "proj")

ADMITTED: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "p-", "labels": {"team": "a"}},
    "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "n", "value": "2"}]},
        "podGC": {"strategy": "OnPodSuccess", "labelSelector": {"matchLabels": {"a": "b"}}},
        "volumes": [{"name": "scratch", "emptyDir": {}}],
        "templates": [
            {
                "name": "main",
                "dag": {
                    "tasks": [
                        {
                            "name": "a",
                            "template": "work",
                            "withItems": [1, {"k": "v"}],
                            "arguments": {"parameters": [{"name": "i", "value": "{{item}}"}]},
                            "hooks": {"exit": {"template": "work"}},
                        },
                        {"name": "b", "template": "set", "depends": "a"},
                    ]
                },
            },
            {
                "name": "work",
                "inputs": {"parameters": [{"name": "i", "default": "0"}]},
                "metadata": {"annotations": {"simpipe.io/sim-duration": "2s"}},
                "retryStrategy": {"limit": 2, "backoff": {"duration": "1s"}},
                "container": {
                    "image": "busybox",
                    "command": ["sh", "-c", "echo {{inputs.parameters.i}}"],
                    "env": [{"name": "A", "value": "1"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    "volumeMounts": [{"name": "scratch", "mountPath": "/s"}],
                    "readinessProbe": {"exec": {"command": ["true"]}},
                },
                "sidecars": [{"name": "s", "image": "nginx", "ports": [{"containerPort": 80}]}],
                "outputs": {"artifacts": [{"name": "o", "path": "/s/o", "archive": {"none": {}}}]},
            },
            {
                "name": "set",
                "containerSet": {
                    "containers": [{"name": "c", "image": "i", "dependencies": []}],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/s"}],
                },
                "securityContext": {"fsGroup": 1000},
            },
        ],
    },
}
POLICY.admit(ADMITTED, WORKFLOW, SCOPE)

# Maps whose keys are the user's own names: labels, annotations, selectors,
# hooks, loop items. Anything else names fields.
FREE_FORM = frozenset({"labels", "annotations", "matchLabels", "labelsFrom", "hooks"})


def mappings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of the admitted document's field mappings."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        if not (path and path[-1] in FREE_FORM):
            found.append(path)
        for key, item in value.items():
            if key != "withItems":
                found.extend(mappings(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(mappings(item, (*path, index)))
    return found


PLACES = mappings(ADMITTED)
FORBIDDEN: list[tuple[str, Any]] = [
    ("hostPID", True),
    ("hostIPC", True),
    ("hostNetwork", True),
    ("hostPath", {"path": "/"}),
    ("privileged", True),
    ("allowPrivilegeEscalation", True),
    ("runAsUser", 0),
    ("podSpecPatch", '{"hostNetwork": true}'),
    ("nodeSelector", {"simpipe.io/node-kind": "real"}),
    ("tolerations", [{"operator": "Exists"}]),
    ("affinity", {"nodeAffinity": {}}),
    ("serviceAccountName", "default"),
    ("automountServiceAccountToken", True),
    ("artifactRepositoryRef", {"configMap": "artifact-repositories"}),
    ("clusterScope", True),
    ("resource", {"action": "create"}),
    ("secretName", "argo-s3"),
    ("claimName", "someone-elses"),
    ("hostPort", 80),
    ("bucket", "simpipe-reports"),
]
unknown_keys = st.from_regex(r"x[A-Z][a-zA-Z]{0,10}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def at(document: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = document
    for part in path:
        node = node[part]
    return node


def assert_refused_with(place: tuple[Any, ...], key: str, value: Any) -> None:
    document = copy.deepcopy(ADMITTED)
    at(document, place)[key] = value
    try:
        POLICY.admit(document, WORKFLOW, SCOPE)
    except InvalidArgoDocumentError as error:
        message = error.message
    else:
        pytest.fail(f"{key}={value!r} at {place} was admitted")
    assert message.startswith("workflow policy: ")


def test_each_forbidden_field_at_every_place_is_refused() -> None:
    assert len(PLACES) > 40
    for place in PLACES:
        for key, value in FORBIDDEN:
            if at(ADMITTED, place).get(key) != value:
                assert_refused_with(place, key, value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(PLACES), key=unknown_keys, value=json_values)
def test_an_unknown_field_anywhere_is_refused(place: tuple[Any, ...], key: str, value: Any) -> None:
    assert_refused_with(place, key, value)


# Documents of any shape, made of the names the policy knows (so that the
# check goes deep) and of any values.
FIELD_NAMES = [
    "templates", "container", "script", "containerSet", "containers", "steps", "dag", "tasks",
    "inline", "name", "image", "command", "env", "valueFrom", "secretKeyRef", "volumes",
    "volumeMounts", "secret", "secretName", "emptyDir", "securityContext", "runAsUser",
    "capabilities", "drop", "add", "metadata", "labels", "annotations", "inputs", "outputs",
    "artifacts", "parameters", "s3", "key", "templateRef", "workflowTemplateRef", "withItems",
    "withSequence", "count", "sidecars", "initContainers", "resources", "limits", "arguments",
    "value", "podMetadata", "workflowMetadata", "templateDefaults", "hooks", "retryStrategy",
]  # fmt: skip
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["{{item}}", "simpipe-proj.x", "ALL", "RuntimeDefault"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), inner, max_size=5),
    max_leaves=40,
)  # fmt: skip


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6), metadata=values)
def test_any_shape_is_admitted_and_stable_or_refused_with_the_typed_error(
    spec: dict[str, Any], metadata: Any
) -> None:
    document = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    }
    try:
        POLICY.admit(document, WORKFLOW, SCOPE)
    except InvalidArgoDocumentError:
        return
    text = json.dumps(document, allow_nan=False)  # plain JSON for Argo
    again = json.loads(text)
    POLICY.verify(again, WORKFLOW, SCOPE)
    assert again == document


@settings(max_examples=300)
@given(text=st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"\n #abk0.1")), max_size=200))
def test_any_text_parses_to_a_document_or_a_typed_error(text: str) -> None:
    try:
        document = parse(text, WORKFLOW, Bounds(10_000, 8, 10))
    except (InvalidInputError, InvalidArgoDocumentError):
        return
    assert isinstance(document, dict)


def test_non_finite_numbers_are_refused() -> None:
    document = copy.deepcopy(ADMITTED)
    document["spec"]["arguments"]["parameters"][0]["value"] = math.nan
    with pytest.raises(InvalidArgoDocumentError, match=r"spec\.arguments\.parameters\[0\]\.value"):
        POLICY.admit(document, WORKFLOW, SCOPE)
