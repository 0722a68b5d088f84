from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from simpipe_devstack.oci_archive import ImageFile, ImageSpec, write_oci_archive


def _spec(tmp_path: Path) -> ImageSpec:
    tool = tmp_path / "tool"
    tool.write_bytes(b"#!/bin/sh\necho hi\n")
    return ImageSpec(
        "simpipe.local/test:1",
        [ImageFile("bin/tool", source=tool), ImageFile("bin/alias", link="tool")],
        entrypoint=["/bin/tool"],
    )


def test_archive_is_an_oci_layout_whose_digests_match_its_blobs(tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    digest = write_oci_archive(_spec(tmp_path), out)
    with tarfile.open(out) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == "simpipe.local/test:1"
    manifest = json.loads(files[f"blobs/sha256/{digest.removeprefix('sha256:')}"])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]])
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    layer = files["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]]
    (tmp_path / "layer.tar").write_bytes(layer)
    with tarfile.open(tmp_path / "layer.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/alias"].issym()
    assert members["bin/alias"].linkname == "tool"
    assert members["bin/tool"].mode == 0o755
    assert members["tmp"].mode == 0o1777


def test_same_inputs_give_the_same_digest(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    assert write_oci_archive(spec, tmp_path / "a.tar") == write_oci_archive(
        spec, tmp_path / "b.tar"
    )
