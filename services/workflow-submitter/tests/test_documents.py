import json

import pytest

from simpipe.v1.workflow_submitter_pb2 import InputArtifact
from simpipe_common.errors import InvalidArgoDocumentError, InvalidInputError
from simpipe_workflow_submitter.documents import (
    WORKFLOW,
    WORKFLOW_TEMPLATE,
    ArtifactRepository,
    parse,
    set_input_artifacts,
)

WORKFLOW_YAML = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]
"""


def test_yaml_and_json_give_the_same_document() -> None:
    from_yaml = parse(WORKFLOW_YAML, WORKFLOW, 10_000)
    assert parse(json.dumps(from_yaml), WORKFLOW, 10_000) == from_yaml
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
        parse(text, WORKFLOW, 10_000)


def test_oversized_document_is_refused_before_parsing() -> None:
    huge = WORKFLOW_YAML + "#" + "x" * 20_000
    with pytest.raises(InvalidInputError, match="limit is 10000"):
        parse(huge, WORKFLOW, 10_000)


def test_wrong_kind_names_the_template_reason() -> None:
    with pytest.raises(InvalidArgoDocumentError) as caught:
        parse(WORKFLOW_YAML, WORKFLOW_TEMPLATE, 10_000)
    assert caught.value.reason == "invalid-argo-workflow-template"


REPOSITORY = ArtifactRepository("10.244.0.1:9000", insecure=True, credentials_secret="argo-s3")


def test_input_files_become_complete_s3_argument_artifacts() -> None:
    document = parse(WORKFLOW_YAML, WORKFLOW, 10_000)
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
    document = parse(WORKFLOW_YAML, WORKFLOW, 10_000)
    with pytest.raises(InvalidInputError, match=words):
        set_input_artifacts(document, [artifact], REPOSITORY)
    assert "arguments" not in document["spec"]


def test_unquoted_timestamps_stay_as_written() -> None:
    text = (
        WORKFLOW_YAML
        + "  arguments: {parameters: [{name: day, value: 2026-01-31}, {name: at, value: 2026-01-31 10:00:00}]}\n"
    )
    parameters = parse(text, WORKFLOW, 10_000)["spec"]["arguments"]["parameters"]
    assert [p["value"] for p in parameters] == ["2026-01-31", "2026-01-31 10:00:00"]
