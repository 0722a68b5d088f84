"""`simpipe image`: images you built with your own container tool (Docker,
Podman, buildah), loaded into the local stack's real node so dry runs there
can use them: build with your container tool, run in SIM-PIPE.

The load is the local stack's own (`python -m simpipe_devstack load-image`,
run with this interpreter): this CLI does not import the dev stack, so it
installs without it; where the dev stack is absent, images come from a
registry instead."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Annotated, Any

import typer

from simpipe_cli.exit_codes import ExitCode
from simpipe_cli.output import emit_json, err, fail, out
from simpipe_cli.session import Session

image_app = typer.Typer(
    no_args_is_help=True,
    help="Images built with Docker, Podman or buildah, loaded into the local stack's "
    "real node for dry runs there.",
)


@image_app.callback()
def _images() -> None:
    """A group even with one command: `image load ARCHIVE...`, run alone or mounted."""


DEVSTACK = "simpipe_devstack"
NO_DEVSTACK = (
    "image load works on the machine running the local stack (`make up` in a SIM-PIPE "
    "checkout); elsewhere dry runs pull their images from a registry (store its login "
    "as a registry credential)"
)
ARCHIVE_KINDS = "a tar from docker save, podman save or buildah push"
# Magic numbers of compressed files: the node imports plain tar archives only.
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
}
# Where an OCI archive names its images (the OCI spec's, containerd's).
OCI_NAME_ANNOTATIONS = ("org.opencontainers.image.ref.name", "io.containerd.image.name")
# ctr imports a large image in minutes (the dev stack allows it 10).
LOAD_SECONDS = 900


def devstack_available() -> bool:
    """Whether this interpreter can run the local stack's tools."""
    try:
        return importlib.util.find_spec(DEVSTACK) is not None
    except (ImportError, ValueError):
        return False


def _member(tar: tarfile.TarFile, name: str) -> Any:
    member = tar.extractfile(name)
    if member is None:
        return None
    with member:
        return json.loads(member.read())


def archive_problem(path: Path) -> str | None:
    """Why `path` is not an image archive the node can import, or None.
    Reads the tar's headers (and its small manifest), not its layers."""
    if not path.exists():
        return f"{path}: no such file"
    if not path.is_file():
        return f"{path}: not a file (expected {ARCHIVE_KINDS})"
    try:
        with path.open("rb") as file:
            head = file.read(8)
    except OSError as error:
        return f"{path}: {error.strerror or error}"
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            return f"{path}: {kind}-compressed: decompress it first (the node imports plain tar)"
    try:
        with tarfile.open(path, "r:") as tar:
            names = {member.name.removeprefix("./"): member.name for member in tar}
            if "manifest.json" in names:
                images = _member(tar, names["manifest.json"])
                tags = [
                    t for i in images or [] if isinstance(i, dict) for t in i.get("RepoTags") or []
                ]
                if not tags:
                    return f"{path}: its image has no name: save it by name (docker save IMAGE:TAG)"
                return None
            if "index.json" in names:
                index = _member(tar, names["index.json"]) or {}
                named = [
                    m
                    for m in index.get("manifests") or []
                    if any((m.get("annotations") or {}).get(a) for a in OCI_NAME_ANNOTATIONS)
                ]
                if not named:
                    return (
                        f"{path}: its image has no name: name it when saving "
                        "(buildah push IMAGE oci-archive:FILE:IMAGE)"
                    )
                return None
    except (tarfile.TarError, json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        pass
    return f"{path}: not an image archive (expected {ARCHIVE_KINDS})"


def _devstack_error(stderr: str, returncode: int) -> str:
    """The dev stack's last word (`error: ...`), as one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"the local stack's load-image failed (exit {returncode})"
    return lines[-1].removeprefix("error: ")


def load_archives(archives: list[Path]) -> list[str]:
    """Loads the archives into the real node through the dev stack; the
    names of the images loaded. Exits (one line on stderr) on failure."""
    command = [sys.executable, "-m", DEVSTACK, "load-image", "--json", *map(str, archives)]
    try:
        if err.is_terminal:
            with err.status(f"loading {len(archives)} archive(s) into the real node"):
                result = _run(command)
        else:
            result = _run(command)
    except subprocess.TimeoutExpired:
        fail(f"the load took longer than {LOAD_SECONDS} s", ExitCode.FAILED)
    if result.returncode != 0:
        fail(_devstack_error(result.stderr, result.returncode), ExitCode.FAILED)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        names = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        fail(f"the local stack's load-image answered {result.stdout.strip()!r}", ExitCode.FAILED)
    return names


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=LOAD_SECONDS, check=False
    )


@image_app.command("load")
def load(
    ctx: typer.Context,
    archives: Annotated[
        list[Path],
        typer.Argument(
            metavar="ARCHIVE",
            help="Image archives: docker save, podman save (docker-archive or oci-archive), "
            "buildah push IMAGE docker-archive:FILE (or oci-archive:FILE:IMAGE).",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Answer with a JSON list of the names, for scripts.")
    ] = False,
) -> None:
    """Loads image archives into the local stack's real node, for dry runs there.

    Steps use them with imagePullPolicy Never or IfNotPresent, placed on REAL_NODES.
    Works where the local stack runs (`make up`); elsewhere, images come from a registry."""
    if not devstack_available():
        fail(NO_DEVSTACK, ExitCode.FAILED)
    for archive in archives:
        problem = archive_problem(archive)
        if problem:
            fail(problem, ExitCode.BAD_INPUT)
    names = load_archives(archives)
    shared = ctx.find_object(Session)
    if as_json or (shared is not None and shared.json):
        emit_json(names)
        return
    for name in names:
        out.print(f"loaded {name}", markup=False)
    if names:
        out.print(
            f"use {'them' if len(names) > 1 else 'it'} in steps with imagePullPolicy: Never "
            "(or IfNotPresent), in dry runs on the real node (placement REAL_NODES)",
            markup=False,
        )
