"""The CLI's own parts: pipeline documents, key=value options, the config
file and exit codes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from simpipe_cli import config
from simpipe_cli.documents import DocumentError, as_workflow, key_values, read_document
from simpipe_cli.exit_codes import ExitCode, exit_code_of
from simpipe_client import GatewayUnavailableError
from simpipe_client.errors import graphql_error

TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: three}
spec:
  entrypoint: main
  arguments: {parameters: [{name: size, value: "1"}]}
"""


def test_a_template_becomes_a_workflow_with_the_given_parameters(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE)
    document = read_document(path)
    workflow = as_workflow(document, {"size": "5", "extra": "x"})
    assert workflow["kind"] == "Workflow"
    assert workflow["metadata"] == {"generateName": "three-"}
    assert workflow["spec"]["arguments"]["parameters"] == [
        {"name": "size", "value": "5"},
        {"name": "extra", "value": "x"},
    ]
    assert document["kind"] == "WorkflowTemplate"  # the document read is left as it was


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Pod\n", "not an Argo Workflow"),
        ("a: [\n", "not YAML or JSON"),
        ("- 1\n", "not an Argo"),
    ],
)
def test_a_file_that_is_no_pipeline_says_so(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(DocumentError, match=message):
        read_document(path)


def test_key_values_need_an_equals_sign() -> None:
    assert key_values(["a=1", "b=x=y", "c="], "--param") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(DocumentError, match="NAME=VALUE"):
        key_values(["novalue"], "--param")
    with pytest.raises(DocumentError):
        key_values(["=v"], "--param")


def test_the_config_file_is_the_owners_only_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMPIPE_CONFIG", str(tmp_path / "dir" / "config.toml"))
    monkeypatch.delenv("SIMPIPE_URL", raising=False)
    monkeypatch.delenv("SIMPIPE_TOKEN", raising=False)
    assert config.settings(None, None) == config.Settings(config.DEFAULT_URL, None)
    path = config.save("http://gw/graphql", 'to"ken')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.settings(None, None) == config.Settings("http://gw/graphql", 'to"ken')
    monkeypatch.setenv("SIMPIPE_TOKEN", "from-env")
    assert config.settings(None, None).token == "from-env"
    assert config.settings("http://other/graphql", "given") == config.Settings(
        "http://other/graphql", "given"
    )
    assert config.forget()
    assert not config.forget()


def test_a_broken_config_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("url = [")
    monkeypatch.setenv("SIMPIPE_CONFIG", str(path))
    with pytest.raises(config.ConfigError, match=str(path)):
        config.settings(None, None)


def test_exit_codes_by_kind() -> None:
    def code(name: str) -> ExitCode:
        return exit_code_of(graphql_error([{"message": "m", "extensions": {"code": name}}]))

    assert code("NOT_FOUND_ERROR") == ExitCode.NOT_FOUND
    assert code("UNAUTHENTICATED") == ExitCode.DENIED
    assert code("FORBIDDEN") == ExitCode.DENIED
    assert code("INPUT_VALIDATION_ERROR") == ExitCode.BAD_INPUT
    assert code("CONFLICT_ERROR") == ExitCode.CONFLICT
    assert code("INTERNAL_SERVER_ERROR") == ExitCode.FAILED
    assert exit_code_of(GatewayUnavailableError("down")) == ExitCode.UNAVAILABLE
