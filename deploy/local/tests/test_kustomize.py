"""deploy/kustomize as `kubectl kustomize` renders it: the two namespaces
under Pod Security `restricted`, every service in simpipe-system, least
privilege for the services and workflows, and NetworkPolicies that let
through only what the mesh needs. The local bridge network does not enforce
NetworkPolicies: rendering is how they are checked.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from simpipe_common.grpc_callers import ALLOWED_CALLERS
from simpipe_devstack.cluster_policy import (
    EXECUTOR_SERVICE_ACCOUNT,
    KUSTOMIZE_BASE,
    WORKFLOW_SERVICE_ACCOUNT,
)
from simpipe_devstack.components.argo import controller_config
from simpipe_devstack.layout import (
    SERVICES_NAMESPACE,
    SIMULATION_NAMESPACE,
    WORKFLOW_NAMESPACE,
    Layout,
)
from simpipe_devstack.stack import Stack

Doc = dict[str, Any]
ARGO_COMPONENT = KUSTOMIZE_BASE.parent / "argo"
SERVICES = (
    "gateway",
    "workflow-submitter",
    "argo-watcher",
    "metrics-collector",
    "storage-broker",
    "kwok-scaler",
)
# Who may call whose gRPC port (the gateway's HTTP port is open to all).
# The services' own allowlist, which their mTLS interceptor enforces.
GRPC_CALLERS = {service: set(callers) for service, callers in ALLOWED_CALLERS.items()}
PSA = ("enforce", "warn", "audit")


def kubectl() -> Path:
    built = Layout.from_env().binaries["kubectl"]
    if built.is_file():
        return built
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip(f"no kubectl to render with: {built} is not built (make build) nor on PATH")
    return Path(found)


def render(directory: Path) -> list[Doc]:
    out = subprocess.run(
        [str(kubectl()), "kustomize", str(directory)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return render(KUSTOMIZE_BASE)


def of_kind(docs: list[Doc], kind: str, namespace: str | None = None) -> dict[str, Doc]:
    return {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] == kind and namespace in (None, d["metadata"].get("namespace"))
    }


def test_every_namespace_enforces_restricted_pod_security(docs: list[Doc]) -> None:
    namespaces = of_kind(docs, "Namespace")
    assert set(namespaces) == {SERVICES_NAMESPACE, WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE}
    for namespace in namespaces.values():
        labels = namespace["metadata"]["labels"]
        assert {labels[f"pod-security.kubernetes.io/{mode}"] for mode in PSA} == {"restricted"}
    # No weaker level anywhere.
    text = yaml.safe_dump_all(docs)
    assert ": baseline" not in text
    assert ": privileged" not in text


def test_every_service_object_is_in_the_services_namespace(docs: list[Doc]) -> None:
    for kind in ("Deployment", "Service", "Job", "ConfigMap"):
        objects = of_kind(docs, kind)
        assert objects, kind
        for name, found in objects.items():
            assert found["metadata"]["namespace"] == SERVICES_NAMESPACE, (kind, name)
    assert set(of_kind(docs, "Deployment")) == set(SERVICES)


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for kind in ("Deployment", "Job"):
        for name, found in of_kind(docs, kind).items():
            yield name, found["spec"]["template"]["spec"]


def test_service_pods_pass_restricted_and_only_four_get_a_token(docs: list[Doc]) -> None:
    accounts = of_kind(docs, "ServiceAccount", SERVICES_NAMESPACE)
    with_token = set()
    for name, spec in pod_specs(docs):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] != 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
        assert not any(spec.get(f"host{n}") for n in ("Network", "PID", "IPC")), name
        account = accounts[spec["serviceAccountName"]]  # its own, never `default`
        mounted = spec.get("automountServiceAccountToken")
        if mounted is None:
            mounted = account.get("automountServiceAccountToken", True)
        if mounted:
            with_token.add(name)
    assert with_token == {"gateway", "workflow-submitter", "argo-watcher", "kwok-scaler"}


def grants(
    docs: list[Doc], account: str, namespace: str, where: str = WORKFLOW_NAMESPACE
) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) -> verbs the account (of `namespace`) has in
    `where` (the workflows namespace unless said)."""
    roles = of_kind(docs, "Role", where)
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for binding in of_kind(docs, "RoleBinding", where).values():
        subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
        if subject not in binding["subjects"]:
            continue
        for rule in roles[binding["roleRef"]["name"]]["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    found[(group, resource)] |= set(rule["verbs"])
    return dict(found)


@pytest.mark.parametrize("runs", [WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE])
def test_workflow_accounts_have_least_privilege(docs: list[Doc], runs: str) -> None:
    accounts = of_kind(docs, "ServiceAccount", runs)
    assert set(accounts) == {WORKFLOW_SERVICE_ACCOUNT, EXECUTOR_SERVICE_ACCOUNT}
    assert all(a["automountServiceAccountToken"] is False for a in accounts.values())
    assert grants(docs, WORKFLOW_SERVICE_ACCOUNT, runs, runs) == {}
    assert grants(docs, EXECUTOR_SERVICE_ACCOUNT, runs, runs) == {
        ("argoproj.io", "workflowtaskresults"): {"create", "patch"}
    }
    # No binding anywhere names a namespace's `default` account.
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in of_kind(docs, kind).values():
            assert all(s.get("name") != "default" for s in binding["subjects"])
    (secret,) = of_kind(docs, "Secret", runs).values()
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["name"] == f"{EXECUTOR_SERVICE_ACCOUNT}.service-account-token"


def test_only_the_submitter_creates_workflows_and_the_watcher_only_reads(
    docs: list[Doc],
) -> None:
    creators = {
        name
        for name in SERVICES
        if "create" in grants(docs, name, SERVICES_NAMESPACE).get(("argoproj.io", "workflows"), ())
    }
    assert creators == {"workflow-submitter"}
    for runs in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE):
        watcher = grants(docs, "argo-watcher", SERVICES_NAMESPACE, runs)
        assert watcher[("argoproj.io", "workflows")] == {"get", "list", "watch"}
        submitter = grants(docs, "workflow-submitter", SERVICES_NAMESPACE, runs)
        assert "create" in submitter[("argoproj.io", "workflows")]
        for name in ("gateway", "metrics-collector", "storage-broker"):
            assert grants(docs, name, SERVICES_NAMESPACE, runs) == {}, name
    # Runs on virtual nodes are made from documents with their templates
    # inlined: no templates or Projects in the simulations' namespace.
    submitter = grants(docs, "workflow-submitter", SERVICES_NAMESPACE, SIMULATION_NAMESPACE)
    assert ("argoproj.io", "workflowtemplates") not in submitter
    assert ("simpipe.io", "projects") not in submitter


def cluster_grants(docs: list[Doc], account: str) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) -> verbs the account has cluster-wide."""
    roles = of_kind(docs, "ClusterRole")
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    subject = {"kind": "ServiceAccount", "name": account, "namespace": SERVICES_NAMESPACE}
    for binding in of_kind(docs, "ClusterRoleBinding").values():
        if subject in binding["subjects"]:
            for rule in roles[binding["roleRef"]["name"]]["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        found[(group, resource)] |= set(rule["verbs"])
    return dict(found)


def test_the_kwok_scaler_writes_nodes_and_task_results_and_only_reads_runs(
    docs: list[Doc],
) -> None:
    assert cluster_grants(docs, "kwok-scaler") == {
        ("", "nodes"): {"get", "list", "watch", "create", "patch", "delete", "deletecollection"},
        ("kwok.x-k8s.io", "stages"): {"get", "list", "watch"},
    }
    # Nothing in the real nodes' runs; the simulations' it watches and plays.
    assert grants(docs, "kwok-scaler", SERVICES_NAMESPACE) == {}
    scaler = grants(docs, "kwok-scaler", SERVICES_NAMESPACE, SIMULATION_NAMESPACE)
    assert scaler[("argoproj.io", "workflows")] == {"get", "list", "watch"}
    # Pods' annotations hold and end virtual daemons (the executor emulation).
    assert scaler[("", "pods")] == {"get", "list", "watch", "patch"}
    assert scaler[("argoproj.io", "workflowtaskresults")] == {"create", "patch"}
    assert scaler[("", "configmaps")] == {"get"}
    assert set(scaler) == {
        ("", "pods"),
        ("argoproj.io", "workflows"),
        ("argoproj.io", "workflowtaskresults"),
        ("", "configmaps"),
    }
    # Nothing cluster-wide beyond nodes and stages, and no Secrets anywhere.
    own = [
        rule
        for name, role in of_kind(docs, "Role", SERVICES_NAMESPACE).items()
        if name == "kwok-scaler"
        for rule in role["rules"]
    ]
    assert {r for rule in own for r in rule["resources"]} == {"configmaps"}


def allowed_ingress(policies: dict[str, Doc], target: str) -> dict[str, set[str]]:
    """port -> callers (app names; `*` for anyone) allowed to `target`'s pods."""
    found: dict[str, set[str]] = defaultdict(set)
    for policy in policies.values():
        selected = policy["spec"]["podSelector"].get("matchLabels", {})
        if selected and selected != {"app.kubernetes.io/name": target}:
            continue
        for rule in policy["spec"].get("ingress", []):
            callers = {
                peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                for peer in rule.get("from", [])
            } or {"*"}
            for port in rule["ports"]:
                found[str(port["port"])] |= callers
    return dict(found)


def test_services_are_reached_only_by_their_callers(docs: list[Doc]) -> None:
    policies = of_kind(docs, "NetworkPolicy", SERVICES_NAMESPACE)
    deny = policies["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert allowed_ingress(policies, "gateway") == {"http": {"*"}}
    for service in SERVICES[1:]:
        expected = {"grpc": GRPC_CALLERS[service]} if service in GRPC_CALLERS else {}
        assert allowed_ingress(policies, service) == expected, service


def test_workflow_pods_get_no_ingress_and_egress_only_to_dns_apiserver_and_s3(
    docs: list[Doc],
) -> None:
    policies = of_kind(docs, "NetworkPolicy", WORKFLOW_NAMESPACE)
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert all("ingress" not in p["spec"] for p in policies.values())
    ports = {
        (port["protocol"], port["port"])
        for policy in policies.values()
        for rule in policy["spec"].get("egress", [])
        for port in rule["ports"]
    }
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443), ("TCP", 9000)}
    # Every egress rule names where it goes: none is open to everything.
    for policy in policies.values():
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), policy["metadata"]["name"]
            for peer in rule["to"]:
                assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stack:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path))
    return Stack(Layout.from_env(), out=lambda _: None)


def test_argo_component_sets_what_the_local_controller_has(stack: Stack) -> None:
    """Production's Argo (deploy/kustomize/argo) and the local stack's run
    workflows with the same identities and security contexts."""
    (patch,) = (
        d
        for d in yaml.safe_load_all(
            (ARGO_COMPONENT / "workflow-controller-configmap.yaml").read_text()
        )
        if d
    )
    ours = {key: yaml.safe_load(value) for key, value in patch["data"].items()}
    local = controller_config(stack)
    assert ours["executor"]["securityContext"] == local["executor"]["securityContext"]
    local_defaults = {k: v for k, v in local["workflowDefaults"]["spec"].items() if k != "podGC"}
    assert ours["workflowDefaults"]["spec"] == local_defaults
    assert "workflowRestrictions" not in ours
    assert "workflowRestrictions" not in local
    component = yaml.safe_load((ARGO_COMPONENT / "kustomization.yaml").read_text())
    (server,) = (
        p for p in component["patches"] if p.get("target", {}).get("name") == "argo-server"
    )
    assert yaml.safe_load(server["patch"]) == [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/args/-",
            "value": "--auth-mode=client",
        }
    ]


def test_argo_component_applies_to_argos_own_install(stack: Stack, tmp_path: Path) -> None:
    """Rendered over Argo's cluster-install manifests (from the Go module
    cache, as `make build` leaves it): every patch finds its target."""
    version = stack.layout.versions["ARGO_VERSION"]
    manifests = (
        stack.layout.cache / "go" / "mod" / "github.com" / "argoproj"
        / f"argo-workflows/v3@{version}" / "manifests"
    )  # fmt: skip
    if not manifests.is_dir():
        pytest.skip(f"Argo's manifests are not in the module cache ({manifests}): make build")
    # kustomize loads only from below the kustomization's directory.
    shutil.copytree(manifests, tmp_path / "argo")
    shutil.copytree(ARGO_COMPONENT, tmp_path / "simpipe")
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "namespace": "argo",
                "resources": ["../argo/cluster-install"],
                "components": ["../simpipe"],
            }
        )
    )
    docs = render(tmp_path / "top")
    server = of_kind(docs, "Deployment")["argo-server"]["spec"]["template"]["spec"]
    assert server["containers"][0]["args"] == ["server", "--auth-mode=client"]
    config = of_kind(docs, "ConfigMap")["workflow-controller-configmap"]["data"]
    assert yaml.safe_load(config["workflowDefaults"])["spec"]["serviceAccountName"] == (
        WORKFLOW_SERVICE_ACCOUNT
    )
    policy = of_kind(docs, "NetworkPolicy")["argo-server-from-simpipe"]
    assert policy["metadata"]["namespace"] == "argo"
    assert policy["spec"]["podSelector"] == server_labels(docs)


def server_labels(docs: list[Doc]) -> dict[str, Any]:
    deployment = of_kind(docs, "Deployment")["argo-server"]
    return {"matchLabels": deployment["spec"]["selector"]["matchLabels"]}


def secrets_read_by(pod: Doc) -> set[str]:
    """The Secrets a pod spec mounts or takes environment variables from."""
    found = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for container in pod["containers"]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.add(ref["name"])
    return found


def test_each_service_reads_its_own_mesh_identity_and_only_the_secrets_it_needs(
    docs: list[Doc],
) -> None:
    deployments = of_kind(docs, "Deployment", SERVICES_NAMESPACE)
    config = of_kind(docs, "ConfigMap", SERVICES_NAMESPACE)
    [settings] = [c["data"] for name, c in config.items() if name.startswith("simpipe-config")]
    for service in SERVICES:
        pod = deployments[service]["spec"]["template"]["spec"]
        own = {f"simpipe-mesh-{service}", f"simpipe-nats-{service}"}
        extra = {
            "storage-broker": {"simpipe-s3"},
            "metrics-collector": {"simpipe-s3"},
            "kwok-scaler": {"simpipe-s3"},
        }
        extra["gateway"] = {"simpipe-gateway"}
        assert secrets_read_by(pod) == own | extra.get(service, set()), service
        [container] = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SIMPIPE_NATS_USER"] == service
        [mount] = [m for m in container["volumeMounts"] if m["name"] == "mesh-tls"]
        assert settings["SIMPIPE_TLS_CERT_FILE"].startswith(mount["mountPath"] + "/")
    job = of_kind(docs, "Job", SERVICES_NAMESPACE)["simpipe-events-provision"]
    assert secrets_read_by(job["spec"]["template"]["spec"]) == {"simpipe-nats-provisioner"}
