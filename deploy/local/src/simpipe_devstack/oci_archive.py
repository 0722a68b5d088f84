"""Write OCI image archives (an OCI image layout in a tar) from files on
this machine: the real node's images need no registry and no image builder.

One uncompressed layer, fixed timestamps and owners: the same inputs give
the same digests, so re-importing an unchanged image is a no-op.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class ImageFile:
    """A regular file copied from `source`, or a symlink to `link`."""

    path: str
    source: Path | None = None
    link: str | None = None
    mode: int = 0o755


@dataclass(frozen=True)
class ImageSpec:
    name: str  # full reference, e.g. quay.io/argoproj/argoexec:v3.6.10
    files: Sequence[ImageFile]
    entrypoint: Sequence[str] = ()
    env: Sequence[str] = field(default=("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",))
    # Directories every container expects (e.g. /tmp), created empty.
    directories: Sequence[str] = ("tmp",)


def _tar_info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size = kind, mode, size
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
    return info


def _layer(spec: ImageSpec) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        parents = {str(Path(f.path).parent) for f in spec.files} | set(spec.directories)
        dirs: set[str] = set()
        for parent in parents:
            parts = Path(parent).parts
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)) if parts[0] != ".")
        for d in sorted(dirs):
            # /tmp is world-writable with the sticky bit, as on any system.
            mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(_tar_info(d, tarfile.DIRTYPE, mode))
        for f in sorted(spec.files, key=lambda f: f.path):
            if f.link is not None:
                info = _tar_info(f.path, tarfile.SYMTYPE, 0o777)
                info.linkname = f.link
                tar.addfile(info)
            elif f.source is not None:
                data = f.source.read_bytes()
                tar.addfile(_tar_info(f.path, tarfile.REGTYPE, f.mode, len(data)), io.BytesIO(data))
            else:
                raise ValueError(f"{spec.name}: {f.path} has neither a source nor a link")
    return buffer.getvalue()


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def write_oci_archive(spec: ImageSpec, out: Path) -> str:
    """Write `spec` as an OCI archive to `out`; return the manifest digest."""
    layer_digest, layer = _blob(_layer(spec))
    config_digest, config = _blob(
        _json(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Entrypoint": list(spec.entrypoint) or None, "Env": list(spec.env)},
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            }
        )
    )
    manifest_digest, manifest = _blob(
        _json(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": len(layer)}],
            }
        )
    )
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": MANIFEST_TYPE,
                "digest": manifest_digest,
                "size": len(manifest),
                # containerd names the imported image after this annotation.
                "annotations": {
                    "io.containerd.image.name": spec.name,
                    "org.opencontainers.image.ref.name": spec.name.rpartition(":")[2],
                },
            }
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, mode="w") as tar:
        members = [
            ("oci-layout", _json({"imageLayoutVersion": "1.0.0"})),
            ("index.json", _json(index)),
            *(
                (f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
                for digest, data in (
                    (layer_digest, layer),
                    (config_digest, config),
                    (manifest_digest, manifest),
                )
            ),
        ]
        for name, data in members:
            tar.addfile(_tar_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    tmp.replace(out)
    return manifest_digest
