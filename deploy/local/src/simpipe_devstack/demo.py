"""`make demo`: the example pipeline dry-run on the local stack with the
`simpipe` CLI, as a user would: log in, make a project, start the run and
watch its steps live, then its steps with their measured peaks."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import WEB_BUILD
from simpipe_devstack.stack import Stack

DEMO_PROJECT = "SIM-PIPE demo"
DEMO_USER = "local-dev"
# The console script beside this interpreter (the CLI the tests and benchmarks run too).
SIMPIPE = Path(sys.executable).with_name("simpipe")


def example_document(stack: Stack) -> tuple[dict[str, Any], str]:
    """The example pipeline for this stack, and where it runs: for real
    when the real node is up, else simulated on KWOK nodes."""
    service = argo_service("http://unused")
    if stack.real_node:
        return real_pipeline(EXAMPLE_REAL_STEPS, service).to_dict(), "for real on the real node"
    return simulated_pipeline(EXAMPLE_STEPS, service).to_dict(), "simulated on KWOK nodes"


def example_placement(stack: Stack) -> str:
    """createDryRun's placement of example_document's pipeline."""
    return "REAL_NODES" if stack.real_node else "VIRTUAL_NODES"


def _simpipe(*args: str, env: dict[str, str], capture: bool = False) -> str:
    """Runs `simpipe args`, its output shown (or captured); exits as it failed."""
    print(f"$ simpipe {shlex.join(args)}", flush=True)
    done = subprocess.run(
        [str(SIMPIPE), *args], env=env, text=True, capture_output=capture, check=False
    )
    if done.returncode != 0:
        if capture:
            sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return done.stdout if capture else ""


def _project(env: dict[str, str]) -> str:
    projects = json.loads(_simpipe("--json", "project", "list", env=env, capture=True))
    for project in projects:
        if project["name"] == DEMO_PROJECT:
            return str(project["id"])
    return _simpipe("project", "create", DEMO_PROJECT, env=env, capture=True).strip()


def run_demo(stack: Stack) -> int:
    endpoints = json.loads(stack.layout.endpoints_file.read_text())
    url = endpoints["graphql"]
    # The demo's own config file: a user's own `simpipe login` is left alone.
    config = stack.layout.state / "simpipe-demo.toml"
    env = {**os.environ, "SIMPIPE_CONFIG": str(config), "SIMPIPE_URL": url}
    token_file = f"{DEMO_USER}'s token in {stack.layout.secrets_file}"
    # The token from the environment: never on a command line (ps) or the screen.
    _simpipe("login", env=env | {"SIMPIPE_TOKEN": stack.secrets.api_tokens[DEMO_USER]})
    project_id = _project(env)
    document, where = example_document(stack)
    pipeline = stack.layout.state / "demo-pipeline.json"
    pipeline.write_text(json.dumps(document, indent=2))
    print(f"\nthe example pipeline, {where}, in project {project_id}:", flush=True)
    placement = ["--virtual"] if example_placement(stack) == "VIRTUAL_NODES" else []
    started = subprocess.run(
        [str(SIMPIPE), "run", "start", str(pipeline), "--project", project_id, *placement],
        env=env,
        check=False,
    )
    if (WEB_BUILD / "index.html").is_file():
        print(
            f"\nthe runs in the web GUI: {url.removesuffix('graphql')} (log in with {token_file})"
        )
    print(
        f"\nnext: `export SIMPIPE_CONFIG={config}` (or `simpipe login`), then"
        f" `simpipe project show {project_id}`, `simpipe run logs <run> <step>`,"
        f" `simpipe run report <run>`; GraphiQL at {url}; Prometheus at {Prometheus().url(stack)};"
        " `make status`, `make logs`."
    )
    return started.returncode
