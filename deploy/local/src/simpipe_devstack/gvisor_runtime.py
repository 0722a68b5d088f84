"""The `gvisor` runtime's binary for containerd's runc shim: runsc with
the ptrace platform (no KVM here) and the pod's network namespace, each
container in a sandbox of its own.

Why: Debian's runsc has no containerd shim (containerd-shim-runsc-v1), and
its Go module is not served by the module proxy here, so the runc shim
drives runsc, which speaks runc's command line. But runsc, seeing the CRI
annotations in a container's spec, would start it inside its pod's
existing sandbox, where the runc shim cannot see it exit (it watches the
sandbox's process, which lives as long as the pod): the step would never
end. Dropping those annotations at `create` gives each container its own
sandbox, whose process ends with the container. Containers of a pod then
share the pod's network namespace through the host kernel's stack
(--network=host) instead of one gVisor netstack per pod.

And the shim treats a `kill` of a container that already ended as done
only when the runtime says "container not running", runc's words; runsc
says "sandbox is not running", which the shim would retry forever, so the
wrapper translates it.

`python -m simpipe_devstack.gvisor_runtime RUNSC [runc-style arguments]`
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The annotations runsc reads to put a container into a pod's sandbox.
SANDBOX_ANNOTATIONS = (
    "io.kubernetes.cri.container-type",
    "io.kubernetes.cri.sandbox-id",
    "io.kubernetes.cri-o.ContainerType",
    "io.kubernetes.cri-o.SandboxID",
)


# runc's global flags that take a value (the shim passes them before the command).
VALUE_FLAGS = frozenset({"--root", "--log", "--log-format", "--criu", "--rootless"})


def command_of(args: list[str]) -> str | None:
    """The runc command (create, start, kill, ...) in a runc command line."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in VALUE_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def bundle_of(args: list[str]) -> Path:
    """The bundle directory of a `create` command line."""
    for i, arg in enumerate(args):
        if arg in ("--bundle", "-b") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--bundle="):
            return Path(arg.partition("=")[2])
    return Path.cwd()


def own_sandbox(config_path: Path) -> None:
    spec = json.loads(config_path.read_text())
    annotations = spec.get("annotations") or {}
    if any(key in annotations for key in SANDBOX_ANNOTATIONS):
        for key in SANDBOX_ANNOTATIONS:
            annotations.pop(key, None)
        config_path.write_text(json.dumps(spec))


def kill(command: list[str]) -> int:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    error = result.stderr
    if result.returncode != 0:
        error = error.replace("sandbox is not running", "container not running")
    sys.stderr.write(error)
    return result.returncode


def main(argv: list[str]) -> int:
    runsc, args = argv[0], argv[1:]
    command = [runsc, "--platform=ptrace", "--network=host", *args]
    verb = command_of(args)
    if verb == "create":
        own_sandbox(bundle_of(args) / "config.json")
    if verb != "kill":
        os.execv(runsc, command)
    return kill(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
