"""The `simpipe` CLI end to end against the running stack, as a user types it:
log in, make a project, put files, dry-run a pipeline with an input and
watch it, read its steps, logs and report; upload a template, simulate it
twice on a virtual cluster and compare. And what a user gets wrong: one
readable line on stderr, the exit code of its kind, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from simpipe_client import Simpipe
from simpipe_devstack.demo import SIMPIPE
from simpipe_devstack.example_pipeline import RealStep, reading_input
from simpipe_devstack.stack import Stack

EXAMPLES = Path(__file__).parents[1] / "examples"
INPUT_PATH = "/tmp/input"
INPUT_TEXT = "hello, sim-pipe\nsecond line\n"
COUNTER = RealStep(
    "count",
    f"tr a-z A-Z < {INPUT_PATH}; echo count: $(wc -l < {INPUT_PATH}) lines; "
    "for i in 1 2 3; do echo tick $i; sleep 1; done",
)

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path, endpoints: dict[str, str]) -> Cli:
    """Runs `simpipe` with its own config file and no token in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPIPE_")}
    env |= {"SIMPIPE_CONFIG": str(tmp_path / "config.toml"), "SIMPIPE_URL": endpoints["graphql"]}

    def run(
        *args: str, timeout: float = 300, more_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SIMPIPE), *args],
            env=env | (more_env or {}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr}{done.stdout}"
    return done.stdout


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(done))


def refused(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    """One line on stderr naming the problem, exit `code`, no traceback."""
    assert done.returncode == code, f"exit {done.returncode}: {done.stderr}{done.stdout}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("simpipe: error: "), lines[0]
    assert says in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout


@pytest.fixture
def logged_in(cli: Cli, stack: Stack) -> Iterator[str]:
    """`simpipe login` as local-dev; a project of theirs, deleted afterwards."""
    said = ok(cli("login", "--with-token", stack.secrets.api_tokens["local-dev"]))
    assert "as local-dev" in said
    project = ok(cli("project", "create", f"cli {uuid.uuid4().hex[:6]}")).strip()
    yield project
    cli("project", "delete", project)


@pytest.mark.timeout(420)
@pytest.mark.usefixtures("real_node")
def test_a_dry_run_with_an_input_from_start_to_report(
    cli: Cli, logged_in: str, tmp_path: Path
) -> None:
    project = logged_in
    data = tmp_path / "input.txt"
    data.write_text(INPUT_TEXT)
    key = f"cli/{uuid.uuid4().hex[:8]}/input.txt"
    put = as_json(cli("--json", "files", "put", str(data), key))
    assert (put["key"], put["size"]) == (key, len(INPUT_TEXT))
    assert key in [a["key"] for a in as_json(cli("--json", "files", "ls", key.rsplit("/", 1)[0]))]
    ok(cli("files", "get", key, str(tmp_path / "back.txt")))
    assert (tmp_path / "back.txt").read_text() == INPUT_TEXT

    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(reading_input(COUNTER, INPUT_PATH)))
    started = cli("run", "start", str(pipeline), "-p", project, "--input", f"input={data}")
    said = ok(started)
    # The live updates (not a terminal here: one line each), then the step table.
    assert "count                    Running" in said
    assert "count                    Succeeded" in said
    assert "cpu peak cores" in said
    run_id = said.split("dry run ", 1)[1].split(" ", 1)[0]

    shown = as_json(cli("--json", "run", "show", run_id))
    assert shown["status"]["phase"] == "Succeeded"
    (step,) = [n for n in shown["nodes"] if n["type"] == "Pod"]
    assert (step["displayName"], step["phase"], step["exitCode"]) == ("count", "Succeeded", "0")
    (measured,) = shown["metricsSummary"]["steps"]
    assert measured["displayName"] == "count"
    assert measured["summary"]["maxMemoryBytes"] > 0
    assert measured["summary"]["durationSeconds"] >= 3

    logs = ok(cli("run", "logs", run_id, "count"))
    assert "HELLO, SIM-PIPE" in logs
    assert "count: 2 lines" in logs
    assert ok(cli("run", "logs", run_id, "count", "--grep", "tick")).split() == [
        "tick", "1", "tick", "2", "tick", "3"
    ]  # fmt: skip

    ok(cli("run", "report", run_id, "-o", str(tmp_path / "report.json")))
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["dryRunId"], report["phase"]) == (run_id, "Succeeded")
    ok(cli("run", "report", run_id, "--format", "parquet", "-o", str(tmp_path / "r.parquet")))
    assert pq.read_table(tmp_path / "r.parquet").num_rows > 0
    assert json.loads(ok(cli("run", "report", run_id, "-o", "-")))["dryRunId"] == run_id
    ok(cli("files", "rm", key))
    assert as_json(cli("--json", "files", "ls", key)) == []


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("real_node")
def test_logs_follow_a_running_step_until_it_ends(cli: Cli, logged_in: str, tmp_path: Path) -> None:
    data = tmp_path / "input"
    data.write_text(INPUT_TEXT)
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(reading_input(COUNTER, INPUT_PATH)))
    run_id = ok(cli("run", "start", str(pipeline), "-p", logged_in, "-i", str(data), "-d")).strip()
    followed = ok(cli("run", "logs", run_id, "count", "-f"))
    # -f returns when the step's container has ended, with every line in order.
    assert followed.index("count: 2 lines") < followed.index("tick 1") < followed.index("tick 3")


@pytest.mark.timeout(420)
def test_a_template_simulated_twice_and_compared(cli: Cli, logged_in: str) -> None:
    project = logged_in
    template = "three-step-pipeline"
    ok(cli("template", "upload", str(EXAMPLES / f"{template}.yaml"), "-p", project, "--replace"))
    reference = as_json(
        cli("--json", "run", "start", "--template", template, "-p", project, "--virtual")
    )
    assert reference["status"]["phase"] == "Succeeded"
    cluster = f"cli-{uuid.uuid4().hex[:6]}"
    ok(cli("cluster", "create", "--pool", "small:3:4:16Gi", "--id", cluster))
    try:
        simulations = []
        for factor in ("2", "3"):
            ran = as_json(
                cli(
                    "--json", "simulate", "start", template, "-c", cluster, "-p", project,
                    "--reference", reference["id"], "--duration-factor", factor,
                )
            )  # fmt: skip
            assert ran["simulation"]["phase"] == "Succeeded", ran["simulation"]["message"]
            assert {s["displayName"] for s in ran["report"]["steps"]} == {
                "pre-process", "process", "analyse"
            }  # fmt: skip
            simulations.append(ran["simulation"]["id"])
        compared = as_json(cli("--json", "compare", *simulations))
        # Steps last 3/2 as long in the second (their durations scaled 3 vs 2).
        for step in compared["steps"]:
            assert step["runSecondsB"] == pytest.approx(1.5 * step["runSecondsA"], rel=0.05)
        assert compared["makespanSecondsB"] > compared["makespanSecondsA"]
        table = ok(cli("compare", simulations[0], "--reference", reference["id"]))
        assert "makespan" in table
    finally:
        ok(cli("cluster", "delete", cluster))


def test_wrong_input_is_one_line_and_an_exit_code(
    cli: Cli, logged_in: str, tmp_path: Path, stack: Stack, endpoints: dict[str, str]
) -> None:
    refused(cli("run", "show", "no-such-run-1"), 3, "not found")
    refused(cli("run", "start", str(tmp_path / "nope.yaml")), 2, "nope.yaml")
    (tmp_path / "pod.yaml").write_text("kind: Pod\n")
    refused(cli("run", "start", str(tmp_path / "pod.yaml")), 2, "not an Argo Workflow")
    refused(cli("run", "start", "--template", "x", "--param", "novalue"), 2, "NAME=VALUE")
    refused(cli("files", "put", str(tmp_path / "missing.bin")), 2, "missing.bin")
    refused(cli("files", "get", "no/such/file.txt"), 3, "no/such/file.txt")
    refused(cli("files", "ls", "--bucket", "../etc"), 2, "bucket name '../etc' is not valid")
    # Gateway down: nothing listens on the port.
    refused(cli("--url", "http://127.0.0.1:9/graphql", "whoami"), 5, "cannot be reached")
    # No token at all, then a revoked one.
    ok(cli("logout"))
    refused(cli("project", "list"), 4, "UNAUTHENTICATED")
    with Simpipe(endpoints["graphql"], stack.secrets.api_tokens["local-dev"]) as dev:
        created = dev.create_access_token(f"cli-{uuid.uuid4().hex[:6]}").create_access_token
        assert ok(cli("--token", created.token, "whoami")).strip() == "local-dev"
        dev.revoke_access_token(created.access_token.id)
    refused(cli("--token", created.token, "whoami"), 4, "UNAUTHENTICATED")
    refused(cli("--token", "not-a-token", "project", "list"), 4, "UNAUTHENTICATED")


def test_login_takes_the_token_from_the_environment(cli: Cli, stack: Stack) -> None:
    # As make demo logs in: never on the command line.
    token = stack.secrets.api_tokens["local-dev"]
    assert "as local-dev" in ok(cli("login", more_env={"SIMPIPE_TOKEN": token}))
    assert ok(cli("whoami")).strip() == "local-dev"  # kept in the config file


def test_help_and_completion_are_there(cli: Cli) -> None:
    said = ok(cli("--help"))
    for command in ("login", "project", "template", "run", "files", "simulate", "compare", "image"):
        assert command in said
    assert "--install-completion" in said
    assert "_SIMPIPE_COMPLETE" in ok(cli("--show-completion", "bash"))
    assert "--input" in ok(cli("run", "start", "--help"))
