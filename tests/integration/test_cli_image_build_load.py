"""Build with your container tool, run in SIM-PIPE: an image built here with
buildah (no daemon, vfs storage of its own), pushed to a docker archive,
loaded with `simpipe image load` into the real node, and run by a dry run
there; the step's log holds what the image's own script prints (a marker
only this build has), so the image run is the one loaded."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.containerd import ctr
from simpipe_devstack.demo import SIMPIPE, example_document
from simpipe_devstack.processes import StackError
from simpipe_devstack.runs import finished_dry_run
from simpipe_devstack.stack import Stack

BUSYBOX = Path("/bin/busybox")
SCRIPT = "/usr/local/bin/say-marker"
BUILD_SECONDS = 120
LOAD_SECONDS = 300
RUN_SECONDS = 240
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
RUN = """query($id: String!) { dryRun(dryRunId: $id) { status { phase message }
  nodes { id type phase ... on DryRunNodePod { exitCode } } } }"""
LOG = """query($id: String!, $n: String!) { dryRun(dryRunId: $id) {
  node(id: $n) { ... on DryRunNodePod { log } } } }"""


@dataclass(frozen=True)
class BuiltImage:
    name: str
    archive: Path
    marker: str
    # The image's config digest: the name containerd's CRI also gives it.
    config_digest: str


def buildah_command(storage: Path) -> list[str]:
    """buildah with storage of its own, as images.py runs it: vfs (no
    overlay mounts), the other storage of this machine left alone."""
    return [
        "buildah", "--storage-driver", "vfs",
        "--root", str(storage / "root"), "--runroot", str(storage / "run"),
    ]  # fmt: skip


def run(command: list[str], timeout: float = BUILD_SECONDS) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr.strip()}"
    return done.stdout


@pytest.fixture
def built_image(tmp_path: Path) -> Iterator[BuiltImage]:
    """A two-file image (Debian's static busybox, a script printing a marker)
    built with buildah from scratch and pushed as a docker archive; the
    buildah storage is removed afterwards."""
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install -y buildah)")
    tag = uuid.uuid4().hex[:12]
    name = f"simpipe.local/cli-image-load:{tag}"
    marker = f"image-load-marker {tag}"
    context = tmp_path / "context"
    (context / "bin").mkdir(parents=True)
    (context / "usr" / "local" / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, context / "bin" / "busybox")
    (context / "bin" / "sh").symlink_to("busybox")
    script = context / SCRIPT.lstrip("/")
    script.write_text(f'#!/bin/sh\necho "{marker}"\n')
    for path in [context, *context.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755)
    storage = tmp_path / "buildah"
    buildah = buildah_command(storage)
    archive = tmp_path / "image.tar"
    try:
        container = run([*buildah, "from", "scratch"]).strip()
        run([*buildah, "copy", container, str(context), "/"])
        run([*buildah, "config", "--entrypoint", json.dumps([SCRIPT]), "--cmd", "",
             "--env", "PATH=/bin", container])  # fmt: skip
        run([*buildah, "commit", "--quiet", "--format", "docker", container, name])
        run([*buildah, "rm", container])
        # As a user would: the archive names the image without being told.
        run([*buildah, "push", "--quiet", name, f"docker-archive:{archive}"])
        with tarfile.open(archive) as tar:
            manifest = tar.extractfile("manifest.json")
            assert manifest is not None
            [entry] = json.loads(manifest.read())
        yield BuiltImage(name, archive, marker, "sha256:" + entry["Config"].removesuffix(".json"))
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def simpipe_load(archive: Path) -> list[str]:
    """`simpipe image load --json ARCHIVE` as a user runs it: the names loaded."""
    done = subprocess.run(
        [str(SIMPIPE), "image", "load", "--json", str(archive)],
        capture_output=True,
        text=True,
        timeout=LOAD_SECONDS,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    names: list[str] = json.loads(done.stdout)
    return names


def one_step_run(stack: Stack, image: str) -> dict[str, Any]:
    """The example's first step alone, running the image's own script
    (Argo's emissary needs the command named), never pulling it."""
    document, _ = example_document(stack)
    [step] = [t for t in document["spec"]["templates"] if t["name"] == "pre-process"]
    step = copy.deepcopy(step)
    step["name"] = "say-marker"
    step["container"]["image"] = image
    step["container"]["imagePullPolicy"] = "Never"
    step["container"]["command"] = [SCRIPT]
    step["container"].pop("args", None)
    step.pop("outputs", None)
    document["spec"]["templates"] = [step]
    document["spec"]["entrypoint"] = "say-marker"
    document["metadata"] = {"generateName": "cli-image-load-"}
    return document


def unload(stack: Stack, image: BuiltImage) -> None:
    """Takes the test's image off the node: its name and the CRI's digest name."""
    for name in (image.name, image.config_digest):
        with contextlib.suppress(StackError):
            ctr(stack, "images", "rm", name)


async def step_log(dev: AsyncSimpipe, run_id: str, node_id: str, part: str) -> str:
    """The step's log once it holds `part`, or as it is after 60 s."""
    log = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            while part not in log:
                found = await dev.graphql(LOG, id=run_id, n=node_id)
                log = found["dryRun"]["node"]["log"] or ""
                if part not in log:
                    await asyncio.sleep(1)
    return log


@pytest.mark.timeout(LOAD_SECONDS + RUN_SECONDS + 120)
async def test_an_image_built_with_buildah_and_loaded_with_the_cli_runs_on_the_real_node(
    real_node: Stack, built_image: BuiltImage, dev: AsyncSimpipe, project: str
) -> None:
    try:
        loaded = await asyncio.to_thread(simpipe_load, built_image.archive)
        assert loaded == [built_image.name]

        document = one_step_run(real_node, built_image.name)
        created = await dev.graphql(
            CREATE, i={"projectId": project, "argoWorkflow": document, "placement": "REAL_NODES"}
        )
        run_id = created["createDryRun"]["id"]
        finished = await finished_dry_run(dev, RUN, run_id, RUN_SECONDS)
        assert finished["status"]["phase"] == "Succeeded", finished["status"]["message"]
        # One template: the workflow's one node is the step's pod.
        [step] = [n for n in finished["nodes"] if n["type"] == "Pod"]
        assert step["phase"] == "Succeeded"
        assert step["exitCode"] == "0"
        log = await step_log(dev, run_id, step["id"], built_image.marker)
        assert built_image.marker in log
    finally:
        unload(real_node, built_image)


def test_simpipe_image_load_has_its_help() -> None:
    """`simpipe image load --help` works from the installed console script."""
    done = subprocess.run(
        [str(SIMPIPE), "image", "load", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ARCHIVE" in done.stdout
