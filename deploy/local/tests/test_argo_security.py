"""How the local stack runs Argo: workflows as their own least-privilege
accounts within Pod Security `restricted`, a server that authenticates its
callers, its ports kept to this machine by a netfilter chain that `make
down` removes again."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from simpipe_devstack import loopback_guard
from simpipe_devstack.cluster_policy import (
    ARGO_IDENTITIES,
    EXECUTOR_SERVICE_ACCOUNT,
    WORKFLOW_SERVICE_ACCOUNT,
    argo_token_file,
    container_security_context,
)
from simpipe_devstack.components import argo
from simpipe_devstack.components.argo import ArgoController, ArgoServer, controller_config
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.services import SERVICE_NAMES, service_env
from simpipe_devstack.example_pipeline import (
    EXAMPLE_REAL_STEPS,
    EXAMPLE_STEPS,
    argo_service,
    real_pipeline,
    simulated_pipeline,
)
from simpipe_devstack.layout import Layout
from simpipe_devstack.stack import Stack


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path))
    return Stack(Layout.from_env(), out=lambda _: None)


def test_workflows_default_to_their_own_accounts_and_restricted_contexts(stack: Stack) -> None:
    config = controller_config(stack)
    executor = config["executor"]["securityContext"]
    assert executor["allowPrivilegeEscalation"] is False
    assert executor["capabilities"] == {"drop": ["ALL"]}
    assert executor["runAsNonRoot"] is True
    assert executor["runAsUser"] > 0
    assert executor["seccompProfile"] == {"type": "RuntimeDefault"}
    spec = config["workflowDefaults"]["spec"]
    assert spec["serviceAccountName"] == WORKFLOW_SERVICE_ACCOUNT
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": EXECUTOR_SERVICE_ACCOUNT}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_example_pipelines_pass_restricted_as_written() -> None:
    """Submitted straight to Argo (the tests do), every container already
    carries what `restricted` asks of containers."""
    service = argo_service("http://unused")
    for workflow in (
        real_pipeline(EXAMPLE_REAL_STEPS, service).to_dict(),
        simulated_pipeline(EXAMPLE_STEPS, service).to_dict(),
    ):
        containers = [t["container"] for t in workflow["spec"]["templates"] if "container" in t]
        assert containers
        for container in containers:
            assert container["securityContext"] == container_security_context()


def test_real_steps_write_to_a_volume_not_their_image() -> None:
    workflow = real_pipeline(EXAMPLE_REAL_STEPS, argo_service("http://unused")).to_dict()
    for template in (t for t in workflow["spec"]["templates"] if "container" in t):
        assert template["volumes"] == [{"name": "work", "emptyDir": {}}]
        assert template["container"]["volumeMounts"] == [{"name": "work", "mountPath": "/work"}]


def test_argo_server_authenticates_its_callers(stack: Stack) -> None:
    spec = ArgoServer().spec(stack)
    argv = list(spec.argv)
    assert argv[argv.index("--auth-mode") + 1] == "client"
    # Callers' tokens are used against the apiserver of $KUBECONFIG.
    assert spec.env["KUBECONFIG"] == str(stack.layout.kubeconfig)


def test_tokens_are_minted_for_each_caller_and_readable_by_this_user_only(
    monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    asked: list[tuple[str, ...]] = []

    def kubectl(self: Cluster, stack: Stack, *args: str, stdin: str | None = None) -> str:
        asked.append(args)
        return f"token-of-{args[2]}-{len(asked)}\n"

    monkeypatch.setattr(Cluster, "kubectl", kubectl)
    argo.mint_argo_tokens(stack)
    argo.mint_argo_tokens(stack)  # a restart replaces them
    assert len(asked) == 2 * len(ARGO_IDENTITIES)
    for identity, (namespace, account) in ARGO_IDENTITIES.items():
        path = argo_token_file(stack.layout, identity)
        assert path.read_text().startswith(f"token-of-{account}-")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert ("create", "token", account, "-n", namespace, "--duration=168h") in asked
    assert not list(path.parent.glob("*.tmp"))


class Netfilter:
    """Records iptables calls, answering like a table that holds `present`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.jumps: dict[str, int] = {}

    def run(self, program: str, *args: str) -> object:
        self.calls.append((program, *args))
        code = 0
        if args[:2] == ("-C", "INPUT"):
            code = 0 if self.jumps.get(program, 0) else 1
        elif args[:2] == ("-I", "INPUT"):
            self.jumps[program] = self.jumps.get(program, 0) + 1
        elif args[:2] == ("-D", "INPUT"):
            code = 0 if self.jumps.get(program, 0) else 1
            self.jumps[program] = max(0, self.jumps.get(program, 0) - 1)

        class Done:
            returncode = code
            stderr = ""

        return Done()


@pytest.fixture
def netfilter(monkeypatch: pytest.MonkeyPatch) -> Netfilter:
    recorded = Netfilter()
    monkeypatch.setattr(loopback_guard, "_run", recorded.run)
    monkeypatch.setattr(loopback_guard, "families", lambda: ("iptables", "ip6tables"))
    monkeypatch.setattr(loopback_guard, "available", lambda: None)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/sbin/{name}")
    return recorded


def rules(calls: Sequence[tuple[str, ...]], program: str) -> list[tuple[str, ...]]:
    return [c[1:] for c in calls if c[0] == program]


def test_guard_lets_only_loopback_reach_the_ports_in_both_families(netfilter: Netfilter) -> None:
    loopback_guard.guard("argo-server", [2746])
    loopback_guard.guard("argo-server", [2746])  # again: no second jump
    for family in ("iptables", "ip6tables"):
        made = rules(netfilter.calls, family)
        chain = "SIMPIPE-ARGO-SERVER"
        assert ("-A", chain, "-i", "lo", "-j", "RETURN") in made
        assert (
            "-A", chain, "-p", "tcp", "-m", "multiport", "--dports", "2746",
            "-j", "REJECT", "--reject-with", "tcp-reset",
        ) in made  # fmt: skip
        assert made.count(("-I", "INPUT", "1", "-p", "tcp", "-j", chain)) == 1
        # Filled again from empty each time: no rule twice.
        assert made.count(("-F", chain)) == 2
        assert netfilter.jumps[family] == 1


def test_unguard_removes_every_jump_and_the_chain(netfilter: Netfilter) -> None:
    netfilter.jumps = {"iptables": 2, "ip6tables": 1}
    loopback_guard.unguard("argo-controller")
    for family in ("iptables", "ip6tables"):
        made = rules(netfilter.calls, family)
        assert netfilter.jumps[family] == 0
        assert made[-2:] == [("-F", "SIMPIPE-ARGO-CONTROLLER"), ("-X", "SIMPIPE-ARGO-CONTROLLER")]


def test_make_down_removes_the_guards_even_of_processes_already_gone(
    monkeypatch: pytest.MonkeyPatch, stack: Stack, netfilter: Netfilter
) -> None:
    netfilter.jumps = {"iptables": 1, "ip6tables": 1}
    assert not ArgoServer().stop(stack)  # nothing was running
    assert netfilter.jumps == {"iptables": 0, "ip6tables": 0}
    netfilter.jumps = {"iptables": 1, "ip6tables": 1}
    assert not ArgoController().stop(stack)
    assert netfilter.jumps == {"iptables": 0, "ip6tables": 0}
    removed = {c[-1] for c in netfilter.calls if c[1] == "-X"}
    assert removed == {"SIMPIPE-ARGO-SERVER", "SIMPIPE-ARGO-CONTROLLER"}


def test_guarded_ports_are_the_listeners_without_a_bind_flag(stack: Stack) -> None:
    ports = stack.layout.ports
    assert set(ArgoController().guarded_ports(stack)) == {
        ports["argo_controller_metrics"],
        argo.CONTROLLER_HEALTH_PORT,
    }
    with pytest.raises(ValueError, match="28"):
        loopback_guard.chain_name("a-name-far-too-long-for-netfilter")


def test_services_that_call_argo_get_their_own_token_file(stack: Stack) -> None:
    for service in SERVICE_NAMES:
        env = service_env(stack, service)
        if service in ("workflow-submitter", "argo-watcher"):
            assert env["SIMPIPE_ARGO_TOKEN_FILE"] == str(argo_token_file(stack.layout, service))
        else:
            assert "SIMPIPE_ARGO_TOKEN_FILE" not in env, service
