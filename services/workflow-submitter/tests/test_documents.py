import json
import threading

import pytest
import yaml

from simpipe.v1.workflow_submitter_pb2 import InputArtifact
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError
from simpipe_workflow_submitter.documents import (
    INLINE_BYTES,
    WORKFLOW,
    WORKFLOW_TEMPLATE,
    ArtifactRepository,
    Bounds,
    off_loop,
    parse,
    set_input_artifacts,
)

DEPTH = 64
BOUNDS = Bounds(max_bytes=10_000, max_depth=DEPTH, max_items=100)
LARGE = Bounds(max_bytes=1_000_000, max_depth=DEPTH, max_items=100)
WORKFLOW_YAML = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]
"""


def test_yaml_and_json_give_the_same_document() -> None:
    from_yaml = parse(WORKFLOW_YAML, WORKFLOW, BOUNDS)
    assert parse(json.dumps(from_yaml), WORKFLOW, BOUNDS) == from_yaml
    assert from_yaml["spec"]["entrypoint"] == "main"


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("", InvalidInputError, "empty"),
        ("spec: [unclosed", InvalidInputError, "not valid YAML"),
        ("a: &x [1, 2]\nb: *x\n", InvalidInputError, "aliases"),
        ("- a list", InvalidArgoDocumentError, "mapping"),
        ("apiVersion: v1\nkind: Pod\nspec: {}", InvalidArgoDocumentError, "kind Workflow"),
        ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n", InvalidArgoDocumentError, "no spec"),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: 3\nspec: {}",
            InvalidArgoDocumentError,
            "metadata",
        ),
    ],
)
def test_bad_documents_get_typed_errors(text: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        parse(text, WORKFLOW, BOUNDS)


def test_oversized_document_is_refused_before_parsing() -> None:
    huge = WORKFLOW_YAML + "#" + "x" * 20_000
    with pytest.raises(InvalidInputError, match="limit is 10000"):
        parse(huge, WORKFLOW, BOUNDS)


def test_wrong_kind_names_the_template_reason() -> None:
    with pytest.raises(InvalidArgoDocumentError) as caught:
        parse(WORKFLOW_YAML, WORKFLOW_TEMPLATE, BOUNDS)
    assert caught.value.reason == "invalid-argo-workflow-template"


def test_a_workflow_template_given_for_a_run_runs_as_a_workflow_of_its_spec() -> None:
    template = WORKFLOW_YAML.replace("kind: Workflow", "kind: WorkflowTemplate").replace(
        "metadata: {generateName: demo-}", "metadata: {name: demo, labels: {a: b}}"
    )
    document = parse(template, WORKFLOW, BOUNDS)
    assert document["kind"] == "Workflow"
    # Each run gets its own name: the template's becomes a prefix.
    assert document["metadata"] == {"generateName": "demo-", "labels": {"a": "b"}}
    assert document["spec"] == parse(WORKFLOW_YAML, WORKFLOW, BOUNDS)["spec"]
    # As a template it stays one; a template's checks still apply to it.
    assert parse(template, WORKFLOW_TEMPLATE, BOUNDS)["kind"] == "WorkflowTemplate"
    with pytest.raises(InvalidArgoDocumentError, match="no spec"):
        parse("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\n", WORKFLOW, BOUNDS)


REPOSITORY = ArtifactRepository("10.244.0.1:9000", insecure=True, credentials_secret="argo-s3")


def test_input_files_become_complete_s3_argument_artifacts() -> None:
    document = parse(WORKFLOW_YAML, WORKFLOW, BOUNDS)
    document["spec"]["arguments"] = {"artifacts": [{"name": "input", "raw": {"data": "old"}}]}
    set_input_artifacts(
        document, [InputArtifact(name="input", bucket="simpipe-uploads", key="a/b.txt")], REPOSITORY
    )
    assert document["spec"]["arguments"]["artifacts"] == [
        {
            "name": "input",
            "s3": {
                "endpoint": "10.244.0.1:9000",
                "insecure": True,
                "bucket": "simpipe-uploads",
                "key": "a/b.txt",
                "accessKeySecret": {"name": "argo-s3", "key": "accesskey"},
                "secretKeySecret": {"name": "argo-s3", "key": "secretkey"},
            },
        }
    ]


@pytest.mark.parametrize(
    ("artifact", "words"),
    [
        (InputArtifact(name="in", bucket="simpipe-uploads", key="../x"), "'..'"),
        (InputArtifact(name="in", bucket="Bad_Bucket", key="x"), "bucket name"),
        (InputArtifact(name="in put", bucket="simpipe-uploads", key="x"), "name"),
    ],
)
def test_bad_input_files_are_refused(artifact: InputArtifact, words: str) -> None:
    document = parse(WORKFLOW_YAML, WORKFLOW, BOUNDS)
    with pytest.raises(InvalidInputError, match=words):
        set_input_artifacts(document, [artifact], REPOSITORY)
    assert "arguments" not in document["spec"]


def test_unquoted_timestamps_stay_as_written() -> None:
    text = (
        WORKFLOW_YAML
        + "  arguments: {parameters: [{name: day, value: 2026-01-31}, {name: at, value: 2026-01-31 10:00:00}]}\n"
    )
    parameters = parse(text, WORKFLOW, BOUNDS)["spec"]["arguments"]["parameters"]
    assert [p["value"] for p in parameters] == ["2026-01-31", "2026-01-31 10:00:00"]


def nested_yaml(levels: int) -> str:
    """A Workflow whose spec holds `levels` nested mappings in all."""
    body = "".join(f"{'  ' * (i + 1)}l{i}:\n" for i in range(levels - 2))
    return f"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n{body}{'  ' * levels}x: 1\n"


def nested_json(levels: int) -> str:
    inner = "[" * (levels - 2) + "]" * (levels - 2)
    return f'{{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {{"x": {inner}}}}}'


@pytest.mark.parametrize(
    "text",
    [
        nested_yaml(DEPTH + 1),
        "spec: " + "[" * 10_000 + "]" * 10_000,  # YAML flow style
        nested_json(DEPTH + 1),
        nested_json(100_000),  # deeper than Python's own recursion limit
        '{"spec": ' + "[" * 100_000,  # not even closed
    ],
    ids=["yaml-block", "yaml-flow", "json", "json-bomb", "json-unclosed"],
)
def test_nesting_deeper_than_the_limit_is_refused_before_it_is_built(text: str) -> None:
    # libyaml refuses a flow 1,000 levels deep itself, before its events reach us.
    too_deep = f"nested more than {DEPTH} levels|exceeded maximum nesting depth"
    with pytest.raises(InvalidInputError, match=too_deep):
        parse(text, WORKFLOW, LARGE)


def test_nesting_up_to_the_limit_is_read() -> None:
    assert parse(nested_yaml(DEPTH), WORKFLOW, LARGE)["kind"] == WORKFLOW
    assert parse(nested_json(DEPTH), WORKFLOW, LARGE)["kind"] == WORKFLOW


@pytest.mark.parametrize(
    "text",
    [
        "spec: [" + ", ".join(["1"] * 101) + "]",
        "spec:\n" + "".join(f"  k{i}: {i}\n" for i in range(101)),
        "spec:\n  x:\n" + "  - a\n" * 101,
        '{"spec": {"x": [' + ", ".join(["1"] * 101) + "]}}",
    ],
    ids=["yaml-flow", "yaml-mapping", "yaml-block", "json"],
)
def test_lists_and_mappings_longer_than_the_limit_are_refused_before_they_are_built(
    text: str,
) -> None:
    with pytest.raises(InvalidInputError, match="list or mapping of more than 100 entries"):
        parse(text, WORKFLOW, LARGE)


def test_lists_and_mappings_up_to_the_limit_are_read() -> None:
    spec = {"x": list(range(100)), **{f"k{i}": i for i in range(99)}}
    document = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": spec}
    assert parse(yaml.safe_dump(document), WORKFLOW, LARGE)["spec"] == spec
    assert parse(json.dumps(document), WORKFLOW, LARGE)["spec"] == spec


@pytest.mark.parametrize(
    "text", ['{"spec": {"x": 1' + "0" * 5000 + "}}", "spec: {x: 1" + "0" * 5000 + "}"]
)
def test_numbers_python_will_not_read_are_input_errors(text: str) -> None:
    with pytest.raises(InvalidInputError, match="not valid YAML or JSON"):
        parse(text, WORKFLOW, LARGE)


async def test_large_documents_are_read_off_the_event_loop() -> None:
    def reader() -> int:
        return threading.get_ident()

    loop_thread = threading.get_ident()
    assert await off_loop("x" * INLINE_BYTES, reader) == loop_thread
    assert await off_loop("x" * (INLINE_BYTES + 1), reader) != loop_thread
