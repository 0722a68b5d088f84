"""A step image only the stack's registry has (pushed with its htpasswd
login, then taken off the node), for tests of runs that must pull with a
user's registry credential, and a one-step run of it."""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Iterator
from typing import Any

from simpipe_devstack.components.containerd import ctr
from simpipe_devstack.components.registry import Registry
from simpipe_devstack.demo import example_document
from simpipe_devstack.node_images import busybox_image, import_archive
from simpipe_devstack.oci_archive import write_oci_archive
from simpipe_devstack.processes import StackError
from simpipe_devstack.stack import Stack


@contextlib.contextmanager
def pushed_private_image(stack: Stack) -> Iterator[str]:
    """A step image of its own (its own digest: no image on the node is the
    same) pushed to the registry and taken off the node, so a run must pull
    it; afterwards, the copies runs pulled go too."""
    tag = uuid.uuid4().hex[:8]
    image = f"{Registry().address(stack)}/private/busybox:{tag}"
    login = stack.secrets.registry
    archive = stack.layout.state / "images" / f"private-{tag}.tar"
    archive.parent.mkdir(parents=True, exist_ok=True)
    write_oci_archive(busybox_image(image, f"SIMPIPE_PRIVATE_IMAGE={tag}"), archive)
    try:
        import_archive(stack, archive)
        ctr(stack, "images", "push", "--plain-http", "--user",
            f"{login['user']}:{login['password']}", image)  # fmt: skip
    finally:
        ctr(stack, "images", "rm", image)
        archive.unlink()
    try:
        yield image
    finally:
        # By its tag and by the digest name the pull recorded.
        repository = image.rsplit(":", 1)[0]
        for name in ctr(stack, "images", "ls", "-q").split():
            if name.startswith((f"{repository}:", f"{repository}@")):
                with contextlib.suppress(StackError):
                    ctr(stack, "images", "rm", name)


def one_step_run(stack: Stack, image: str) -> dict[str, Any]:
    """The example's first step alone, its image pulled on every run."""
    document, _ = example_document(stack)
    [step] = [t for t in document["spec"]["templates"] if t["name"] == "pre-process"]
    step = copy.deepcopy(step)
    step["container"]["image"] = image
    step["container"]["imagePullPolicy"] = "Always"
    document["spec"]["templates"] = [step]
    document["spec"]["entrypoint"] = "pre-process"
    document["metadata"] = {"generateName": "private-image-"}
    return document
