from __future__ import annotations

import json
from pathlib import Path

from simpipe_devstack.gvisor_runtime import bundle_of, command_of, own_sandbox

SHIM_FLAGS = ["--root", "/run/x", "--log", "/b/log.json", "--log-format", "json"]


def test_command_is_found_after_the_shims_global_flags() -> None:
    assert command_of([*SHIM_FLAGS, "create", "--bundle", "/b", "id"]) == "create"
    assert command_of([*SHIM_FLAGS, "kill", "--all", "id", "9"]) == "kill"
    assert bundle_of([*SHIM_FLAGS, "create", "--bundle", "/b", "id"]) == Path("/b")


def test_create_gives_each_container_its_own_sandbox(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "annotations": {
                    "io.kubernetes.cri.container-type": "container",
                    "io.kubernetes.cri.sandbox-id": "abc",
                    "io.kubernetes.cri.container-name": "main",
                }
            }
        )
    )
    own_sandbox(config)
    assert json.loads(config.read_text())["annotations"] == {
        "io.kubernetes.cri.container-name": "main"
    }
