"""The real node's images, built here and imported into containerd's
Kubernetes namespace (no registry): the pod sandbox, Argo's executor and
a busybox step image for the example pipelines. Users load their own
image archives (docker save, OCI) with `make load-image`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from simpipe_devstack.components.containerd import PAUSE_IMAGE, ctr
from simpipe_devstack.oci_archive import ImageFile, ImageSpec, write_oci_archive

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# Debian bookworm's busybox-static: a shell and the usual tools, in 1 MiB.
STEP_IMAGE = "simpipe.local/busybox:bookworm"
BUSYBOX = Path("/bin/busybox")


def executor_image(stack: Stack) -> str:
    """The name Argo's controller gives its executor (--executor-image)."""
    return f"quay.io/argoproj/argoexec:{stack.layout.versions['ARGO_VERSION']}"


def _busybox_files() -> list[ImageFile]:
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        ImageFile("bin/busybox", source=BUSYBOX),
        *(ImageFile(f"bin/{applet}", link="busybox") for applet in applets if applet != "busybox"),
    ]


def busybox_image(name: str, *env: str) -> ImageSpec:
    """A busybox step image named `name`; `env` added to its environment
    makes an image of its own (another digest) from the same files."""
    return ImageSpec(
        name,
        _busybox_files(),
        entrypoint=["/bin/sh"],
        env=("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", *env),
    )


def node_image_specs(stack: Stack) -> list[ImageSpec]:
    bins = stack.layout.binaries
    return [
        ImageSpec(PAUSE_IMAGE, [ImageFile("pause", source=bins["pause"])], entrypoint=["/pause"]),
        # The controller runs `argoexec init|wait` from PATH; init copies
        # the binary into the pod for the main container's emissary.
        ImageSpec(
            executor_image(stack),
            [ImageFile("bin/argoexec", source=bins["argoexec"])],
            entrypoint=["argoexec"],
        ),
        busybox_image(STEP_IMAGE),
    ]


def imported_digest(stack: Stack, name: str) -> str | None:
    for line in ctr(stack, "images", "ls").splitlines()[1:]:
        cols = line.split()
        if cols and cols[0] == name:
            return next((c for c in cols if c.startswith("sha256:")), None)
    return None


def import_archive(stack: Stack, archive: Path) -> list[str]:
    """Import an OCI or docker archive into the node; the image names it held."""
    out = ctr(stack, "images", "import", "--snapshotter", "overlayfs", str(archive), timeout=600)
    # ctr prints "unpacking <name> (sha256:...)...done" per image.
    return re.findall(r"unpacking (\S+) \(sha256:", out)


def load_node_images(stack: Stack) -> None:
    archives = stack.layout.state / "images"
    for spec in node_image_specs(stack):
        archive = archives / (re.sub(r"[^A-Za-z0-9.-]+", "_", spec.name) + ".tar")
        digest = write_oci_archive(spec, archive)
        if imported_digest(stack, spec.name) != digest:
            import_archive(stack, archive)
