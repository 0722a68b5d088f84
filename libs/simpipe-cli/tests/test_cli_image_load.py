"""`simpipe image load`: archives are checked before the local stack is
asked; errors are one line and an exit code (2 bad input, 1 otherwise); the
stack's load-image is run with this interpreter, its names printed or given
as JSON; without the dev stack, one line says where loading works."""

from __future__ import annotations

import gzip
import importlib.machinery
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simpipe_cli.image_commands import NO_DEVSTACK, image_app

runner = CliRunner()
NAME = "localhost/pipeline/step:1"


def image_tar(path: Path, files: dict[str, Any]) -> Path:
    """A tar holding `files` (JSON documents) and one fake layer."""
    with tarfile.open(path, "w") as tar:
        for name, document in {**files, "layer.tar": None}.items():
            data = b"" if document is None else json.dumps(document).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A docker-archive (docker save, podman save, buildah push) naming its image."""
    manifest = [{"Config": "config.json", "RepoTags": [NAME], "Layers": ["layer.tar"]}]
    return image_tar(tmp_path / "step.tar", {"manifest.json": manifest, "config.json": {}})


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The dev stack present; its load-image answers the names as JSON.
    The commands run, in order."""
    found = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        if name == "simpipe_devstack":
            return importlib.machinery.ModuleSpec(name, None)
        return found(name, package)

    ran: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps([NAME]) + "\n", stderr="")

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", run)
    return ran


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_missing_file_is_bad_input_in_one_line(calls: list[list[str]], tmp_path: Path) -> None:
    missing = tmp_path / "nope.tar"
    result = runner.invoke(image_app, ["load", str(missing)])
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"simpipe: error: {missing}: no such file"
    assert result.stdout == ""
    assert calls == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not an archive at all\n", "not an image archive (expected a tar from docker save"),
        (b"", "not an image archive"),
        (gzip.compress(b"x" * 1024), "gzip-compressed: decompress it first"),
    ],
)
def test_a_file_that_is_no_image_archive_is_bad_input(
    calls: list[list[str]], tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(content)
    result = runner.invoke(image_app, ["load", str(path)])
    assert result.exit_code == 2
    assert says in one_line(result.stderr)
    assert calls == []


def test_an_archive_without_image_names_says_how_to_name_them(
    calls: list[list[str]], tmp_path: Path
) -> None:
    # buildah push IMAGE oci-archive:FILE (no :IMAGE): containerd would import nothing.
    index = {"schemaVersion": 2, "manifests": [{"digest": "sha256:00", "size": 1}]}
    oci = image_tar(tmp_path / "oci.tar", {"index.json": index, "oci-layout": {}})
    result = runner.invoke(image_app, ["load", str(oci)])
    assert result.exit_code == 2
    assert "oci-archive:FILE:IMAGE" in one_line(result.stderr)
    assert calls == []


def test_without_the_dev_stack_one_line_says_where_loading_works(
    monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    found = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        return None if name == "simpipe_devstack" else found(name, package)

    def run(*_: Any, **__: Any) -> None:
        raise AssertionError("nothing is run without the dev stack")

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", run)
    result = runner.invoke(image_app, ["load", str(archive)])
    assert result.exit_code == 1
    assert one_line(result.stderr) == f"simpipe: error: {NO_DEVSTACK}"
    assert "make up" in NO_DEVSTACK
    assert "registry" in NO_DEVSTACK


def test_the_stacks_load_runs_with_this_interpreter_and_its_names_are_printed(
    calls: list[list[str]], archive: Path
) -> None:
    result = runner.invoke(image_app, ["load", str(archive)])
    assert result.exit_code == 0, result.stderr
    assert calls == [
        [sys.executable, "-m", "simpipe_devstack", "load-image", "--json", str(archive)]
    ]
    assert result.stdout.splitlines()[0] == f"loaded {NAME}"
    assert "imagePullPolicy: Never" in result.stdout


def test_json_answers_the_list_of_names(calls: list[list[str]], archive: Path) -> None:
    result = runner.invoke(image_app, ["load", "--json", str(archive)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [NAME]


def test_the_stacks_error_is_one_line_and_exit_1(
    calls: list[list[str]], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    def refused(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        stderr = "error: the real node is not running: run `make up` first\n"
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=stderr)

    monkeypatch.setattr(subprocess, "run", refused)
    result = runner.invoke(image_app, ["load", str(archive)])
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "simpipe: error: the real node is not running: run `make up` first"
    )
    assert len(calls) == 1


def test_an_unparseable_answer_is_a_failure_not_a_traceback(
    calls: list[list[str]], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    def garbled(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0, stdout="loaded something\n", stderr="")

    monkeypatch.setattr(subprocess, "run", garbled)
    result = runner.invoke(image_app, ["load", str(archive)])
    assert result.exit_code == 1
    assert "answered 'loaded something'" in one_line(result.stderr)
