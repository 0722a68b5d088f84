"""What the cluster itself enforces, behind the workflow-submitter's policy:
Pod Security `restricted` on the workflows namespace (a pod created there
directly, past SIM-PIPE, is refused if it is privileged or reaches the
host), least-privilege ServiceAccounts (checked with `kubectl auth can-i`),
an Argo server that refuses callers without a valid Kubernetes token and
acts with each caller's rights, and its port out of the pods' reach.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simpipe_client import AsyncSimpipe
from simpipe_devstack import loopback_guard
from simpipe_devstack.cluster_policy import (
    EXECUTOR_SERVICE_ACCOUNT,
    WORKFLOW_SERVICE_ACCOUNT,
    argo_token_file,
    container_security_context,
    pod_security_context,
)
from simpipe_devstack.components.cluster import KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.components.node_network import NodeNetwork
from simpipe_devstack.demo import example_document, example_placement
from simpipe_devstack.example_pipeline import EXAMPLE_STEPS, argo_service, simulated_pipeline
from simpipe_devstack.layout import SERVICES_NAMESPACE, SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE
from simpipe_devstack.stack import Stack

Pod = dict[str, Any]


@pytest.fixture(scope="module")
def core(stack: Stack) -> client.CoreV1Api:
    """The cluster admin's client: what it is refused, anyone is."""
    return client.CoreV1Api(config.new_client_from_config(config_file=str(stack.layout.kubeconfig)))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def compliant_pod(name: str, command: str = "true") -> Pod:
    """A pod that passes `restricted`: on no node unless a test places it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {KWOK_NODE_LABEL: "nowhere"},
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "serviceAccountName": WORKFLOW_SERVICE_ACCOUNT,
            "terminationGracePeriodSeconds": 0,
            "securityContext": pod_security_context(),
            "containers": [
                {
                    "name": "main",
                    "image": STEP_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", command],
                    "securityContext": container_security_context(),
                }
            ],
        },
    }


def privileged(pod: Pod) -> None:
    # A privileged container may not also forbid privilege escalation
    # (the API's own validation): only Pod Security is left to refuse it.
    context = pod["spec"]["containers"][0]["securityContext"]
    del context["allowPrivilegeEscalation"]
    context["privileged"] = True


def host_path(pod: Pod) -> None:
    pod["spec"]["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]


def host_network(pod: Pod) -> None:
    pod["spec"]["hostNetwork"] = True


def as_root(pod: Pod) -> None:
    pod["spec"]["securityContext"]["runAsUser"] = 0
    pod["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0


@pytest.fixture
def created(core: client.CoreV1Api) -> Iterator[list[str]]:
    """Names of pods a test created; deleted after it, admitted or not."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            core.delete_namespaced_pod(name, WORKFLOW_NAMESPACE, grace_period_seconds=0)
        except ApiException as error:
            if error.status != 404:
                raise


def create(core: client.CoreV1Api, created: list[str], pod: Pod) -> ApiException | None:
    """The apiserver's refusal, or None when the pod was admitted."""
    created.append(pod["metadata"]["name"])
    try:
        core.create_namespaced_pod(WORKFLOW_NAMESPACE, pod)  # type: ignore[arg-type]
    except ApiException as error:
        return error
    return None


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (privileged, "privileged"),
        (host_path, 'restricted volume type "hostPath"'),
        (host_network, "host namespaces"),
        (as_root, "runAsUser=0"),
    ],
)
def test_pod_security_refuses_a_pod_that_reaches_the_host(
    core: client.CoreV1Api, created: list[str], change: Any, check: str
) -> None:
    pod = compliant_pod(unique("psa-refused"))
    change(pod)
    refusal = create(core, created, pod)
    assert refusal is not None, f"a pod with {check} was admitted"
    assert refusal.status == 403
    message = json.loads(refusal.body or "{}")["message"]
    assert 'violates PodSecurity "restricted' in message
    assert check in message


def plain(core: client.CoreV1Api, found: object) -> dict[str, Any]:
    """An object of the client as the API spells it (camelCase keys)."""
    data: dict[str, Any] = core.api_client.sanitize_for_serialization(found)
    return data


def read_pod(core: client.CoreV1Api, name: str) -> dict[str, Any]:
    return plain(core, core.read_namespaced_pod(name, WORKFLOW_NAMESPACE))


def test_pod_security_admits_a_restricted_pod(core: client.CoreV1Api, created: list[str]) -> None:
    name = unique("psa-admitted")
    assert create(core, created, copy.deepcopy(compliant_pod(name))) is None
    assert read_pod(core, name)["metadata"]["name"] == name


def can_i(stack: Stack, account: str, *what: str, namespace: str = WORKFLOW_NAMESPACE) -> bool:
    """`kubectl auth can-i` as system:serviceaccount:<account>."""
    result = subprocess.run(
        [
            str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
            "auth", "can-i", *what, "-n", namespace, "--as", f"system:serviceaccount:{account}",
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


EXECUTOR = f"{WORKFLOW_NAMESPACE}:{EXECUTOR_SERVICE_ACCOUNT}"
WORKFLOW = f"{WORKFLOW_NAMESPACE}:{WORKFLOW_SERVICE_ACCOUNT}"
# What no workflow identity may do (the executor's one right aside).
FORBIDDEN = (
    ("get", "secrets"),
    ("list", "secrets"),
    ("get", "configmaps"),
    ("create", "pods"),
    ("get", "pods"),
    ("create", "pods/exec"),
    ("list", "workflows.argoproj.io"),
    ("create", "workflows.argoproj.io"),
    ("get", "workflowtemplates.argoproj.io"),
    ("get", "projects.simpipe.io"),
    ("create", "serviceaccounts/token"),
    ("update", "leases.coordination.k8s.io"),
)


def test_the_executor_may_only_report_step_results(stack: Stack) -> None:
    assert can_i(stack, EXECUTOR, "create", "workflowtaskresults.argoproj.io")
    assert can_i(stack, EXECUTOR, "patch", "workflowtaskresults.argoproj.io")
    assert not can_i(stack, EXECUTOR, "delete", "workflowtaskresults.argoproj.io")
    for verb, resource in FORBIDDEN:
        assert not can_i(stack, EXECUTOR, verb, resource), (verb, resource)
    for namespace in ("default", "kube-system", SERVICES_NAMESPACE):
        assert not can_i(
            stack, EXECUTOR, "create", "workflowtaskresults.argoproj.io", namespace=namespace
        )
        assert not can_i(stack, EXECUTOR, "get", "secrets", namespace=namespace)


def test_workflow_pods_own_account_and_default_may_do_nothing(stack: Stack) -> None:
    for account in (WORKFLOW, f"{WORKFLOW_NAMESPACE}:default"):
        assert not can_i(stack, account, "create", "workflowtaskresults.argoproj.io"), account
        for verb, resource in FORBIDDEN:
            assert not can_i(stack, account, verb, resource), (account, verb, resource)


def test_services_have_only_their_own_rights_on_workflows(stack: Stack) -> None:
    submitter = f"{SERVICES_NAMESPACE}:workflow-submitter"
    watcher = f"{SERVICES_NAMESPACE}:argo-watcher"
    assert can_i(stack, submitter, "create", "workflows.argoproj.io")
    # Projects' S3 credentials, by name; users' registry credentials, listed
    # by owner where the runs on real nodes are, and nowhere else.
    assert can_i(stack, submitter, "create", "secrets")
    assert can_i(stack, submitter, "list", "secrets")
    for namespace in (SIMULATION_NAMESPACE, SERVICES_NAMESPACE):
        assert not can_i(stack, submitter, "list", "secrets", namespace=namespace), namespace
    assert not can_i(stack, submitter, "get", "secrets", namespace=SERVICES_NAMESPACE)
    assert can_i(stack, watcher, "watch", "workflows.argoproj.io")
    assert not can_i(stack, watcher, "create", "workflows.argoproj.io")
    assert not can_i(stack, watcher, "delete", "workflows.argoproj.io")
    # Archived logs: Argo reads a project's credentials with its token.
    assert can_i(stack, watcher, "get", "secrets")
    assert not can_i(stack, watcher, "list", "secrets")
    assert not can_i(stack, watcher, "get", "secrets", namespace=SERVICES_NAMESPACE)
    for service in ("gateway", "metrics-collector", "storage-broker"):
        account = f"{SERVICES_NAMESPACE}:{service}"
        assert not can_i(stack, account, "get", "workflows.argoproj.io"), service
    # Users' API tokens: Secrets in the services' namespace, nothing else.
    gateway = f"{SERVICES_NAMESPACE}:gateway"
    for verb in ("create", "delete", "list", "watch"):
        assert can_i(stack, gateway, verb, "secrets", namespace=SERVICES_NAMESPACE), verb
    assert not can_i(stack, gateway, "update", "secrets", namespace=SERVICES_NAMESPACE)
    for namespace in (WORKFLOW_NAMESPACE, SIMULATION_NAMESPACE, "kube-system"):
        assert not can_i(stack, gateway, "list", "secrets", namespace=namespace), namespace
    assert not can_i(stack, gateway, "create", "pods", namespace=SERVICES_NAMESPACE)
    for service in ("metrics-collector", "storage-broker"):
        account = f"{SERVICES_NAMESPACE}:{service}"
        assert not can_i(stack, account, "list", "secrets", namespace=SERVICES_NAMESPACE)
    # The kwok-scaler watches simulated runs, in the simulations' namespace
    # only; the submitter makes and stops them.
    scaler = f"{SERVICES_NAMESPACE}:kwok-scaler"
    sim = SIMULATION_NAMESPACE
    assert can_i(stack, scaler, "watch", "workflows.argoproj.io", namespace=sim)
    assert can_i(stack, scaler, "watch", "pods", namespace=sim)
    assert can_i(stack, scaler, "patch", "pods", namespace=sim)
    assert can_i(stack, scaler, "create", "nodes")
    assert can_i(stack, scaler, "create", "workflowtaskresults.argoproj.io", namespace=sim)
    for verb in ("create", "delete", "patch"):
        assert not can_i(stack, scaler, verb, "workflows.argoproj.io", namespace=sim), verb
    assert not can_i(stack, scaler, "create", "pods", namespace=sim)
    for namespace in (sim, WORKFLOW_NAMESPACE, SERVICES_NAMESPACE):
        assert not can_i(stack, scaler, "get", "secrets", namespace=namespace)
    # Nothing at all on the real nodes' runs and pods.
    for verb, resource in (
        ("get", "workflows.argoproj.io"),
        ("list", "pods"),
        ("patch", "pods"),
        ("create", "workflowtaskresults.argoproj.io"),
    ):
        assert not can_i(stack, scaler, verb, resource), (verb, resource)
    # The submitter and the watcher do in the simulations' namespace what
    # they do in the workflows one; no templates or Projects live there.
    assert can_i(stack, submitter, "create", "workflows.argoproj.io", namespace=sim)
    assert can_i(stack, submitter, "create", "secrets", namespace=sim)
    assert not can_i(stack, submitter, "create", "workflowtemplates.argoproj.io", namespace=sim)
    assert can_i(stack, watcher, "watch", "workflows.argoproj.io", namespace=sim)
    assert not can_i(stack, watcher, "create", "workflows.argoproj.io", namespace=sim)


def token_of(stack: Stack, identity: str) -> str:
    return argo_token_file(stack.layout, identity).read_text().strip()


def test_the_argo_server_refuses_callers_without_a_valid_token(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    argo = endpoints["argo_server"]
    listing = f"{argo}/api/v1/workflows/{WORKFLOW_NAMESPACE}"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "garbage"}):
        answer = httpx.get(listing, headers=headers, timeout=10)
        assert answer.status_code == 401, (headers, answer.text[:200])
    # Argo's artifact files (archived step logs) too.
    logs = f"{argo}/artifact-files/{WORKFLOW_NAMESPACE}/workflows/x/x-1/outputs/main-logs"
    assert httpx.get(logs, timeout=10).status_code == 401
    for service in ("workflow-submitter", "argo-watcher"):
        headers = {"Authorization": f"Bearer {token_of(stack, service)}"}
        answer = httpx.get(listing, params={"listOptions.limit": "1"}, headers=headers, timeout=10)
        assert answer.status_code == 200, (service, answer.text[:200])


def test_the_argo_server_acts_with_the_callers_own_rights(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    """The watcher may read Workflows but not create one, not even through
    Argo (a server-side dry run: nothing is stored either way)."""
    document = simulated_pipeline(EXAMPLE_STEPS, argo_service("http://unused")).to_dict()
    body = {"workflow": document, "serverDryRun": True}
    url = f"{endpoints['argo_server']}/api/v1/workflows/{WORKFLOW_NAMESPACE}"
    refused = httpx.post(
        url, json=body, headers={"Authorization": f"Bearer {token_of(stack, 'argo-watcher')}"},
        timeout=10,
    )  # fmt: skip
    assert refused.status_code == 403, refused.text[:300]
    allowed = httpx.post(
        url, json=body,
        headers={"Authorization": f"Bearer {token_of(stack, 'workflow-submitter')}"}, timeout=10,
    )  # fmt: skip
    assert allowed.status_code == 200, allowed.text[:300]


def test_argos_listeners_are_kept_to_this_machine(stack: Stack) -> None:
    problem = loopback_guard.available()
    assert problem is None, f"the stack cannot guard Argo's ports here: {problem}"
    assert loopback_guard.guarded("argo-server")
    assert loopback_guard.guarded("argo-controller")


def wait_for_phase(core: client.CoreV1Api, name: str, phases: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        phase = str(read_pod(core, name).get("status", {}).get("phase"))
        if phase in phases:
            return phase
        assert time.monotonic() < deadline, f"{name} still {phase} after {timeout}s"
        time.sleep(0.5)


@pytest.mark.timeout(120)
def test_a_pod_on_the_real_node_cannot_reach_argo_but_reaches_s3(
    real_node: Stack, core: client.CoreV1Api, created: list[str]
) -> None:
    """From the pod network, Argo's listeners (all interfaces, no bind flag)
    refuse connections; MinIO behind the pod gateway on the same address
    answers, so the refusal is the guard's. Runs as the non-root uid every
    workflow container gets."""
    node_ip, ports = real_node.layout.node_ip, real_node.layout.ports
    probes = {
        "argo-server": ports["argo_server"],
        "argo-controller-metrics": ports["argo_controller_metrics"],
        "argo-controller-health": 6060,
        "minio": ports["minio"],
    }
    script = "; ".join(
        # A TCP connection, no more (busybox's wget crashes as a uid without
        # a passwd entry); the guard resets it at once.
        # nc's complaints go nowhere: the runtime interleaves stderr with
        # stdout in no fixed order.
        f"if nc -w 5 {node_ip} {port} </dev/null 2>/dev/null; then echo 'reached {name}';"
        f" else echo 'refused {name}'; fi"
        for name, port in probes.items()
    )
    pod = compliant_pod(unique("reach"), f"echo uid=$(id -u); {script}")
    pod["spec"]["nodeSelector"] = {KWOK_NODE_LABEL: REAL_NODE_KIND}
    pod["spec"]["tolerations"] = [{**REAL_NODE_TAINT, "operator": "Equal"}]
    assert create(core, created, pod) is None
    name = pod["metadata"]["name"]
    phase = wait_for_phase(core, name, {"Succeeded", "Failed"}, 90)
    log = core.read_namespaced_pod_log(name, WORKFLOW_NAMESPACE, container="main")
    assert phase == "Succeeded", log
    lines = log.split("\n")
    assert f"uid={pod_security_context()['runAsUser']}" in lines, log
    assert "reached minio" in lines
    for probe in ("argo-server", "argo-controller-metrics", "argo-controller-health"):
        assert f"refused {probe}" in lines, log


@pytest.mark.timeout(150)
def test_only_the_services_pods_reach_nats_argo_and_prometheus_through_the_pod_gateway(
    real_node: Stack, core: client.CoreV1Api
) -> None:
    """The pod gateway's routes for the services' pods (MODE=cluster): it
    accepts, asks the apiserver whose address this is, and closes without a
    byte unless it is a pod of simpipe-system. The same probe from a pod
    there is the control: NATS says INFO, the others answer HTTP."""
    node_ip = real_node.layout.node_ip
    routes = NodeNetwork().services_routes(real_node)
    # Five tries a port, a second apart: a pod may connect before the
    # apiserver knows its address (the gateway then refuses, as it should).
    script = "; ".join(
        f"for try in 1 2 3 4 5; do got=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
        f"nc -w 3 {node_ip} {port} 2>/dev/null | head -c 4); "
        f'[ -n "$got" ] && break; sleep 1; done; echo "answer {port}: $got"'
        for port in routes
    )
    answers: dict[str, list[str]] = {}
    names: list[tuple[str, str]] = []
    try:
        for namespace in (WORKFLOW_NAMESPACE, SERVICES_NAMESPACE):
            pod = compliant_pod(unique("gateway-routes"), script)
            pod["spec"]["nodeSelector"] = {KWOK_NODE_LABEL: REAL_NODE_KIND}
            pod["spec"]["tolerations"] = [{**REAL_NODE_TAINT, "operator": "Equal"}]
            if namespace == SERVICES_NAMESPACE:
                pod["spec"]["serviceAccountName"] = "default"
            core.create_namespaced_pod(namespace, pod)  # type: ignore[arg-type]
            names.append((namespace, pod["metadata"]["name"]))
        for namespace, name in names:
            deadline = time.monotonic() + 120
            while (phase := core.read_namespaced_pod(name, namespace).status.phase) not in (  # type: ignore[union-attr,operator]
                "Succeeded",
                "Failed",
            ):
                assert time.monotonic() < deadline, f"{name} still {phase}"
                time.sleep(0.5)
            log = core.read_namespaced_pod_log(name, namespace, container="main")
            assert phase == "Succeeded", log
            answers[namespace] = log.split("\n")
    finally:
        for namespace, name in names:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    ports = real_node.layout.ports
    for port in routes:
        assert f"answer {port}: " in answers[WORKFLOW_NAMESPACE], answers
    control = answers[SERVICES_NAMESPACE]
    assert f"answer {ports['nats']}: INFO" in control, control
    for port in routes:
        if port != ports["nats"]:
            assert f"answer {port}: HTTP" in control, control


async def finished(gql: AsyncSimpipe, dry_run_id: str) -> str:
    updates = "subscription($id: String!) { dryRunUpdates(dryRunId: $id) { kind phase } }"
    phase = ""
    async with asyncio.timeout(240):
        async for data in gql.subscribe(updates, id=dry_run_id):
            if data["dryRunUpdates"]["kind"] == "run":
                phase = data["dryRunUpdates"]["phase"]
    return phase


@pytest.mark.timeout(300)
async def test_a_dry_run_runs_as_the_workflow_account_never_default(
    stack: Stack, dev: AsyncSimpipe, project: str, core: client.CoreV1Api
) -> None:
    """The stack's example pipeline through the GraphQL API (for real where
    the real node runs): every step's pod runs as simpipe-workflow without a
    token, only Argo's executor gets its account's token, and the run
    succeeds under `restricted` as a non-root user."""
    document, _ = example_document(stack)
    run_id = unique("identity")
    await dev.graphql(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={
            "projectId": project,
            "dryRunId": run_id,
            "argoWorkflow": document,
            "placement": example_placement(stack),
        },
    )
    phase = await finished(dev, run_id)
    # Argo deletes a finished run's pods a minute after it ends: still here.
    listed = core.list_namespaced_pod(
        WORKFLOW_NAMESPACE, label_selector=f"workflows.argoproj.io/workflow={run_id}"
    )
    pods = plain(core, listed)["items"]
    assert phase == "Succeeded", [p["status"].get("message") for p in pods]
    steps = [t for t in document["spec"]["templates"] if "container" in t]
    assert len(pods) == len(steps)
    executor_token = f"{EXECUTOR_SERVICE_ACCOUNT}.service-account-token"
    for pod in pods:
        spec = pod["spec"]
        assert spec["serviceAccountName"] == WORKFLOW_SERVICE_ACCOUNT, pod["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        volumes = spec["volumes"]
        token_volumes = {
            v["name"] for v in volumes if v.get("secret", {}).get("secretName") == executor_token
        }
        assert len(token_volumes) == 1
        assert not any("projected" in v for v in volumes), "no automounted token"
        for container in [*spec["initContainers"], *spec["containers"]]:
            mounted = {m["name"] for m in container.get("volumeMounts", [])}
            # Argo's own containers get the executor's token; user code none.
            assert bool(mounted & token_volumes) == (container["name"] in ("init", "wait"))
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
