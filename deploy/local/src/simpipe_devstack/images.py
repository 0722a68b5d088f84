"""The services' images, built here without a daemon or a registry.

The base is a Debian root filesystem made with mmdebstrap (python3 and
python3-venv from Debian's own packages: the same Python 3.11 the stack
runs) and imported with `buildah from scratch`; each service is then
built from services/Containerfile by buildah (vfs storage, chroot
isolation: no daemon, no user namespaces) and written as a docker archive
that the real node's containerd imports (`make up MODE=cluster`) or that a
user pushes wherever they like. Everything lives under the cache
(~/.cache/simpipe/images), so a second `make images` rebuilds only what
changed in the repo.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from simpipe_devstack.layout import Layout
from simpipe_devstack.processes import StackError

REPO = Path(__file__).resolve().parents[4]
CONTAINERFILE = REPO / "services" / "Containerfile"
WEB_BUILD = REPO / "services" / "web" / "build"

# Each service and the HTTP port its settings default to (its /health).
SERVICE_HTTP_PORTS = {
    "gateway": 8080,
    "workflow-submitter": 9101,
    "argo-watcher": 9102,
    "metrics-collector": 9103,
    "storage-broker": 9104,
    "kwok-scaler": 9105,
}
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# libstdc++6: grpcio's extension links it.
BASE_PACKAGES = ("python3", "python3-venv", "libstdc++6")
# How mmdebstrap makes it: only Essential packages and those named, no
# Recommends, no docs; /usr merged by mmdebstrap's own hook rather than the
# usrmerge package, which would pull in perl (about 50 MB).
MMDEBSTRAP_OPTIONS = (
    "--variant=essential",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--aptopt=APT::Install-Recommends false",
    *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale", "info")),
)
# Named by what makes it: other packages or options make another base.
BASE_IMAGE = (
    f"simpipe.local/python-base:{DEBIAN_SUITE}-"
    + hashlib.sha256(" ".join((*BASE_PACKAGES, *MMDEBSTRAP_OPTIONS)).encode()).hexdigest()[:8]
)
# Wheels the base's glibc (bookworm: 2.36) takes; pip, given platforms,
# takes only the ones named.
WHEEL_PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64", "any",
)  # fmt: skip
# The base's files carry this time (mmdebstrap's reproducible mode).
SOURCE_DATE_EPOCH = "1735689600"
# The images' tag: the Deployments in deploy/kustomize name simpipe/<service>:dev.
TAG = "dev"


def image_name(service: str) -> str:
    if service not in SERVICE_HTTP_PORTS:
        raise StackError(f"{service!r} is not a service (one of {', '.join(SERVICE_HTTP_PORTS)})")
    return f"simpipe/{service}:{TAG}"


@dataclass(frozen=True)
class ImageCache:
    root: Path

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def runroot(self) -> Path:
        return self.root / "run"

    @property
    def base_tar(self) -> Path:
        return self.root / f"{BASE_IMAGE.rpartition('/')[2].replace(':', '-')}.tar"

    def context(self, service: str) -> Path:
        return self.root / "context" / service

    def archive(self, service: str) -> Path:
        return self.root / "archives" / f"{service}.tar"


def _run(args: Sequence[str], what: str, timeout: float = 1800, **env: str) -> str:
    result = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise StackError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def buildah(cache: ImageCache, *args: str, timeout: float = 1800) -> str:
    return _run(
        [
            "buildah", "--storage-driver", "vfs",
            "--root", str(cache.storage), "--runroot", str(cache.runroot), *args,
        ],
        f"buildah {args[0]}", timeout,
    )  # fmt: skip


def prerequisites_problem() -> str | None:
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not installed: apt-get install -y buildah mmdebstrap "
            "(Debian's; images are built without a daemon)"
        )
    if os.geteuid() != 0:
        return "building images needs root here (buildah's chroot isolation, mmdebstrap)"
    return None


def _has_image(cache: ImageCache, name: str) -> bool:
    listed = buildah(cache, "images", "--noheading", "--format", "{{.Name}}:{{.Tag}}")
    return any(line.strip().endswith(name) for line in listed.splitlines())


def ensure_base(cache: ImageCache, out: Callable[[str], None]) -> str:
    """The base image: Debian's python3 on an `essential` root filesystem
    (no apt, no docs), made once."""
    if _has_image(cache, BASE_IMAGE):
        return BASE_IMAGE
    if not cache.base_tar.is_file():
        out(f"  base: mmdebstrap {DEBIAN_SUITE} + {', '.join(BASE_PACKAGES)} (once, ~2 min)")
        partial = cache.base_tar.with_suffix(".partial")
        cache.base_tar.parent.mkdir(parents=True, exist_ok=True)
        _run(
            [
                "mmdebstrap", "--quiet", *MMDEBSTRAP_OPTIONS,
                f"--include={','.join(BASE_PACKAGES)}", "--format=tar", DEBIAN_SUITE, str(partial), DEBIAN_MIRROR,
            ],
            "mmdebstrap", SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH,
        )  # fmt: skip
        partial.rename(cache.base_tar)
    container = buildah(cache, "from", "scratch").strip()
    try:
        buildah(cache, "add", container, str(cache.base_tar), "/")
        buildah(cache, "config", "--env", "PATH=/usr/bin:/bin", "--cmd", "/usr/bin/python3",
                "--label", f"io.simpipe.debian={DEBIAN_SUITE}", container)  # fmt: skip
        buildah(cache, "commit", "--quiet", "--format", "docker", container, BASE_IMAGE)
    finally:
        buildah(cache, "rm", container)
    return BASE_IMAGE


def prepare_context(cache: ImageCache, service: str) -> Path:
    """requirements.txt (uv.lock's pins and hashes, no dev tools), their
    wheels, our own wheels, and the web GUI's files for the gateway."""
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    context = cache.context(service)
    shutil.rmtree(context, ignore_errors=True)
    (context / "project").mkdir(parents=True)
    (context / "share").mkdir()
    requirements = context / "requirements.txt"
    export = [uv, "export", "--package", f"simpipe-{service}", "--no-dev", "--frozen",
              "--no-header", "--format", "requirements-txt", "--directory", str(REPO)]  # fmt: skip
    # One export: our own packages are its editable lines (built as wheels
    # below), the rest the pinned, hashed requirements.
    exported = _run(export, "uv export", 300).splitlines(keepends=True)
    members = [REPO / line[3:].strip() for line in exported if line.startswith("-e ./")]
    requirements.write_text("".join(line for line in exported if not line.startswith("-e ")))
    # The wheels for CPython 3.11 on glibc, as the base has (Debian's 3.11);
    # pip from the machine's python3 (the project's .venv is uv's, without pip).
    _run(
        ["python3", "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--only-binary=:all:", "--no-deps", "--python-version", "3.11",
         *(f"--platform={tag}" for tag in WHEEL_PLATFORMS),
         "-r", str(requirements), "-d", str(context / "wheels")],
        "pip download", 1200,
    )  # fmt: skip
    for member in members:
        _run([uv, "build", "--quiet", "--wheel", "--out-dir", str(context / "project"),
              str(member)], f"uv build {member.name}", 300)  # fmt: skip
    if service == "gateway":
        if not (WEB_BUILD / "index.html").is_file():
            raise StackError("the web GUI is not built: run `make web` first")
        shutil.copytree(WEB_BUILD, context / "share" / "web")
    return context


def _commit() -> str:
    try:
        head = _run(["git", "-C", str(REPO), "rev-parse", "HEAD"], "git", 30).strip()
        dirty = _run(["git", "-C", str(REPO), "status", "--porcelain"], "git", 30).strip()
    except (StackError, OSError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def _version(service: str) -> str:
    with (REPO / "services" / service / "pyproject.toml").open("rb") as project:
        return str(tomllib.load(project)["project"]["version"])


@dataclass(frozen=True)
class BuiltImage:
    service: str
    name: str
    archive: Path
    seconds: float
    rebuilt: bool = True

    @property
    def size_bytes(self) -> int:
        """The image's size: a docker archive holds its layers uncompressed."""
        return self.archive.stat().st_size


def context_digest(context: Path, base: str) -> str:
    """What an image is built from: the context's files, the Containerfile
    and the base's name. The same digest as the archive's: nothing to do."""
    digest = hashlib.sha256(base.encode())
    digest.update(CONTAINERFILE.read_bytes())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_image(cache: ImageCache, service: str, base: str, commit: str) -> BuiltImage:
    started = time.monotonic()
    name = image_name(service)
    context = prepare_context(cache, service)
    archive = cache.archive(service)
    stamp = archive.with_suffix(".digest")
    digest = context_digest(context, base)
    if archive.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return BuiltImage(service, name, archive, time.monotonic() - started, rebuilt=False)
    buildah(
        cache, "bud", "--quiet", "--format", "docker", "--isolation", "chroot",
        "--layers=false", "--file", str(CONTAINERFILE),
        "--build-arg", f"BASE={base}", "--build-arg", f"SERVICE={service}",
        "--build-arg", f"HTTP_PORT={SERVICE_HTTP_PORTS[service]}",
        "--build-arg", f"VERSION={_version(service)}", "--build-arg", f"COMMIT={commit}",
        "--tag", name, str(context),
    )  # fmt: skip
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.unlink(missing_ok=True)
    buildah(cache, "push", "--quiet", name, f"docker-archive:{archive}:{name}")
    stamp.write_text(digest)
    return BuiltImage(service, name, archive, time.monotonic() - started)


def build_images(layout: Layout, services: Sequence[str] = ()) -> int:
    """`make images`: the base once, then each service; prints each size."""
    problem = prerequisites_problem()
    if problem:
        raise StackError(problem)
    chosen = list(services) or list(SERVICE_HTTP_PORTS)
    for service in chosen:
        image_name(service)  # an unknown name fails before any build
    cache = ImageCache(layout.cache / "images")
    print(f"images: building {len(chosen)} into {cache.root}", flush=True)
    base = ensure_base(cache, lambda line: print(line, flush=True))
    commit = _commit()  # once: git status reads the whole tree
    built: list[BuiltImage] = []
    for service in chosen:
        print(f"  {service}: building ...", flush=True)
        built.append(build_image(cache, service, base, commit))
        image = built[-1]
        done = "built" if image.rebuilt else "up to date"
        print(f"  {service}: {image.name} {done}, {image.size_bytes / 2**20:.1f} MiB in "
              f"{image.seconds:.0f} s -> {image.archive}", flush=True)  # fmt: skip
    # A rebuilt tag leaves its old image behind, whole (vfs keeps no shared layers).
    buildah(cache, "rmi", "--prune")
    print(f"{'image':<32} {'size MiB':>9}")
    for image in built:
        print(f"{image.name:<32} {image.size_bytes / 2**20:>9.1f}")
    return 0
