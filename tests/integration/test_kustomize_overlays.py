"""deploy/kustomize: every overlay renders with the stack's kubectl and each
object validates against the Kubernetes schemas of the stack's version
(kubernetes-validate's bundled schemas, strict: an unknown field fails);
objects of our CRDs are checked by the stack's apiserver (a server-side dry
run, which also runs its admission). And what the overlays promise: the
services non-root on a read-only root filesystem with probes and a
disruption budget, scraped, and the local overlay pointed at the stack.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from simpipe_devstack.components.cluster_services import GRPC_PORTS, mesh_hosts
from simpipe_devstack.components.node_network import ARGO_SERVER_FOR_SERVICES_PORT, NodeNetwork
from simpipe_devstack.components.prometheus import KWOK_SCRAPE_INTERVALS
from simpipe_devstack.components.services import go_seconds
from simpipe_devstack.images import SERVICE_HTTP_PORTS
from simpipe_devstack.layout import SERVICE_IPS, gui_origins
from simpipe_devstack.stack import Stack

KUSTOMIZE = Path(__file__).resolve().parents[2] / "deploy" / "kustomize"
OVERLAYS = ("base", "overlays/local", "overlays/production", "overlays/gvisor")
# The stack's Kubernetes (deploy/local/versions.env): schemas of that minor.
SCHEMA_VERSION = "1.32.0"
# Kinds the cluster learns from CRDs: the apiserver checks them.
CUSTOM_GROUPS = ("simpipe.io/",)


def kubectl(stack: Stack, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
         *args],
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"kubectl {' '.join(args[:2])}: {result.stderr}"
    return result.stdout


def rendered(stack: Stack, overlay: str) -> list[dict[str, Any]]:
    text = kubectl(stack, "kustomize", str(KUSTOMIZE / overlay))
    return [doc for doc in yaml.safe_load_all(text) if doc]


def deployments(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (o for o in objects if o["kind"] == "Deployment")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(stack: Stack, overlay: str) -> None:
    objects = rendered(stack, overlay)
    assert len(objects) > 40, overlay
    custom = []
    for obj in objects:
        if obj["apiVersion"].startswith(CUSTOM_GROUPS):
            custom.append(obj)
            continue
        where = f"{overlay}: {obj['kind']} {obj['metadata'].get('name')}"
        try:
            kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: {exc.message} at {list(exc.path)}")
    for obj in custom:
        kubectl(stack, "apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(obj))


def test_the_validation_catches_a_wrong_field(stack: Stack) -> None:
    """The check above can fail: a misspelt field in a real object."""
    deployment = next(deployments(rendered(stack, "base")))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSION, strict=True)


def test_the_local_overlay_is_accepted_by_the_stacks_apiserver(stack: Stack) -> None:
    """Every object, admission included (Pod Security `restricted` warns
    about a Deployment whose pods it would refuse): nothing stored."""
    result = subprocess.run(
        [str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
         "apply", "--dry-run=server", "-k", str(KUSTOMIZE / "overlays" / "local")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "would violate PodSecurity" not in result.stderr, result.stderr
    assert result.stdout.count("(server dry run)") == len(rendered(stack, "overlays/local"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_locked_down_probed_scraped_and_budgeted(
    stack: Stack, overlay: str
) -> None:
    objects = rendered(stack, overlay)
    found = {d["metadata"]["name"]: d for d in deployments(objects)}
    assert set(found) == set(SERVICE_HTTP_PORTS), overlay
    budgets = {o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
               for o in objects if o["kind"] == "PodDisruptionBudget"}  # fmt: skip
    assert budgets == set(SERVICE_HTTP_PORTS), overlay
    for name, deployment in found.items():
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, name
        assert container["readinessProbe"]["httpGet"]["path"] == "/health", name
        port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
        assert port == SERVICE_HTTP_PORTS[name], name
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port), name
        assert container["image"].rpartition(":")[0].endswith(f"simpipe/{name}"), name


def test_production_scales_out_with_requests_and_spread(stack: Stack) -> None:
    for deployment in deployments(rendered(stack, "overlays/production")):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, name
        pod = deployment["spec"]["template"]["spec"]
        resources = pod["containers"][0]["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), name
        assert "cpu" not in resources["limits"], name
        assert pod["affinity"]["podAntiAffinity"], name
        assert not pod["containers"][0]["image"].startswith("simpipe/"), name


def test_the_gvisor_overlay_sandboxes_every_dry_run(stack: Stack) -> None:
    objects = rendered(stack, "overlays/gvisor")
    (runtime,) = [o for o in objects if o["kind"] == "RuntimeClass"]
    config = next(o for o in objects if o["kind"] == "ConfigMap"
                  and o["metadata"]["name"].startswith("simpipe-config"))  # fmt: skip
    assert config["data"]["SIMPIPE_DEFAULT_SANDBOX"] == "gvisor"
    assert config["data"]["SIMPIPE_GVISOR_RUNTIME_CLASS"] == runtime["metadata"]["name"]


def test_the_local_overlay_points_at_the_stacks_own_listeners(stack: Stack) -> None:
    objects = rendered(stack, "overlays/local")
    config = next(o for o in objects if o["kind"] == "ConfigMap"
                  and o["metadata"]["name"].startswith("simpipe-config"))["data"]  # fmt: skip
    node, ports = stack.layout.node_ip, stack.layout.ports
    assert config["SIMPIPE_NATS_URL"] == f"nats://{node}:{ports['nats']}"
    assert config["SIMPIPE_S3_ENDPOINT"] == f"http://{node}:{ports['minio']}"
    argo = ARGO_SERVER_FOR_SERVICES_PORT
    assert config["SIMPIPE_ARGO_SERVER_URL"] == f"http://{node}:{argo}"
    assert config["SIMPIPE_PROMETHEUS_URL"] == f"http://{node}:{ports['prometheus']}"
    # What the pod gateway forwards for the services' pods, and only theirs.
    routes = NodeNetwork().services_routes(stack)
    assert routes[argo] == ports["argo_server"]
    assert {ports["nats"], ports["prometheus"]} <= set(routes)
    # No DNS: each Service's fixed address, the one its certificate holds.
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for service, address in SERVICE_IPS.items():
        assert services[service]["spec"]["clusterIP"] == address
        assert address in mesh_hosts(service)
        if service != "gateway":
            grpc = {p["name"]: p["port"] for p in services[service]["spec"]["ports"]}["grpc"]
            assert GRPC_PORTS[service] == grpc, service
            key = f"SIMPIPE_{service.upper().replace('-', '_')}_ADDR"
            assert config[key] == f"{address}:{grpc}", key
    # The kwok-scaler times simulated steps by the scrape intervals Prometheus uses.
    for scrape, interval in KWOK_SCRAPE_INTERVALS.items():
        infix = "" if scrape == "standard" else f"{scrape.upper()}_"
        setting = config[f"SIMPIPE_SIMULATION_{infix}SCRAPE_INTERVAL_SECONDS"]
        assert float(setting) == go_seconds(interval), scrape
    for origin in gui_origins(ports).split(","):
        assert origin in config["SIMPIPE_CORS_ALLOWED_ORIGINS"].split(","), origin
    for deployment in deployments(objects):
        assert deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == (
            "Never"
        )
