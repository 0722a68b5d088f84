"""`make up MODE=cluster`: the six services as pods of
deploy/kustomize/overlays/local on the real node, instead of processes.

What it does, in order: imports the images `make images` built into the
node's containerd; writes the Secrets the Deployments name (each service's
mesh certificate for its Service's fixed address and names, its NATS
password, the S3 keys, the gateway's API tokens) from the stack's own
secrets; applies the overlay; waits until every Deployment is available
and the gateway answers. Stopping it deletes what the overlay made in
simpipe-system (Deployments, Services, budgets, the provisioning Job, the
settings) and those Secrets, never the namespaces, RBAC or users' objects.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

from simpipe_devstack.components.base import Component
from simpipe_devstack.components.services import SERVICE_NAMES
from simpipe_devstack.images import SERVICE_HTTP_PORTS, ImageCache, image_name
from simpipe_devstack.layout import SERVICE_IPS, SERVICES_NAMESPACE
from simpipe_devstack.mesh_pki import stack_pki
from simpipe_devstack.node_images import import_archive
from simpipe_devstack.processes import StackError
from simpipe_devstack.readiness import wait_until
from simpipe_events.permissions import PROVISIONER

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

OVERLAY = Path(__file__).resolve().parents[5] / "deploy" / "kustomize" / "overlays" / "local"
PART_OF = "app.kubernetes.io/part-of=simpipe"
# Each service's gRPC port in its pod and Service (deploy/kustomize/base).
GRPC_PORTS = {
    "workflow-submitter": 50051,
    "argo-watcher": 50052,
    "metrics-collector": 50053,
    "storage-broker": 50054,
    "kwok-scaler": 50055,
}
ROLLOUT_TIMEOUT = 240.0


def mesh_hosts(service: str) -> list[str]:
    """The names and address a service's certificate holds: callers dial
    its Service's fixed address; the DNS names are for clusters with DNS."""
    return [
        service,
        f"{service}.{SERVICES_NAMESPACE}",
        f"{service}.{SERVICES_NAMESPACE}.svc",
        SERVICE_IPS[service],
    ]


def _secret(name: str, data: dict[str, str], kind: str = "Opaque") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": kind,
        "metadata": {
            "name": name,
            "namespace": SERVICES_NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "simpipe", "simpipe.io/stack": "cluster-mode"},
        },
        "stringData": data,
    }


class ClusterServices(Component):
    name = "services-in-cluster"
    real_node = True
    binaries = ("kubectl",)

    def kubectl(self, stack: Stack, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(stack.layout.binaries["kubectl"]), "--kubeconfig", str(stack.layout.kubeconfig),
             *args],
            input=stdin, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"kubectl {' '.join(args[:3])} failed: {result.stderr.strip()}")
        return result.stdout

    def secrets(self, stack: Stack) -> list[dict[str, Any]]:
        pki = stack_pki(stack)
        # The stack's CA: the one every other identity (the tests') trusts.
        authority = pki.authority()
        ca = pki.ca_file.read_text()
        made = []
        for service in SERVICE_NAMES:
            issued = authority.issue(service, mesh_hosts(service))
            made.append(
                _secret(
                    f"simpipe-mesh-{service}",
                    {
                        "ca.crt": ca,
                        "tls.crt": issued.cert_pem.decode(),
                        "tls.key": issued.key_pem.decode(),
                    },
                    "kubernetes.io/tls",
                )
            )
        passwords = stack.secrets.nats_passwords
        for user in (*SERVICE_NAMES, PROVISIONER):
            made.append(_secret(f"simpipe-nats-{user}", {"password": passwords[user]}))
        made.append(
            _secret(
                "simpipe-s3",
                {
                    "access-key": stack.secrets.s3_access_key,
                    "secret-key": stack.secrets.s3_secret_key,
                },
            )
        )
        made.append(
            _secret("simpipe-gateway", {"api-tokens": stack.secrets.gateway_tokens_setting()})
        )
        return made

    def deployments_available(self, stack: Stack) -> dict[str, bool]:
        listed = json_of(
            self.kubectl(
                stack, "get", "deployments", "-n", SERVICES_NAMESPACE, "-l", PART_OF, "-o", "json"
            )
        )
        found = {}
        for item in listed.get("items", []):
            status = item.get("status", {})
            found[item["metadata"]["name"]] = status.get("availableReplicas", 0) >= item[
                "spec"
            ].get("replicas", 1) and status.get("updatedReplicas", 0) >= item["spec"].get(
                "replicas", 1
            )
        return found

    def is_running(self, stack: Stack) -> bool:
        if not stack.layout.kubeconfig.exists():
            return False
        try:
            available = self.deployments_available(stack)
        except (StackError, subprocess.TimeoutExpired):
            return False
        return (
            set(available) == set(SERVICE_NAMES)
            and all(available.values())
            and self.deployed_file(stack).is_file()
            and self.deployed_file(stack).read_text() == self.what_to_deploy(stack)
        )

    def deployed_file(self, stack: Stack) -> Path:
        return stack.layout.state / "cluster-services.deployed"

    def what_to_deploy(self, stack: Stack) -> str:
        """The overlay as rendered and the images' build digests: when
        either changed since the last start, `up` deploys again."""
        digest = hashlib.sha256(self.kubectl(stack, "kustomize", str(OVERLAY)).encode())
        cache = ImageCache(stack.layout.cache / "images")
        for service in SERVICE_NAMES:
            stamp = cache.archive(service).with_suffix(".digest")
            digest.update(stamp.read_bytes() if stamp.is_file() else b"-")
        return digest.hexdigest()

    def start(self, stack: Stack) -> None:
        cache = ImageCache(stack.layout.cache / "images")
        missing = [s for s in SERVICE_NAMES if not cache.archive(s).is_file()]
        if missing:
            raise StackError(
                f"no image for {', '.join(missing)}: run `make images` first "
                "(`make up MODE=cluster` does)"
            )
        for service in SERVICE_NAMES:
            names = import_archive(stack, cache.archive(service))
            if not any(n.endswith(image_name(service)) for n in names):
                raise StackError(
                    f"{cache.archive(service)} held {names}, not {image_name(service)}"
                )
        self.kubectl(stack, "apply", "-f", "-", stdin=yaml.safe_dump_all(self.secrets(stack)))
        # A Job's pod template cannot change: the provisioning runs anew.
        self.kubectl(stack, "delete", "job", "simpipe-events-provision", "-n", SERVICES_NAMESPACE,
                     "--ignore-not-found")  # fmt: skip
        self.kubectl(stack, "apply", "-k", str(OVERLAY))
        # A new image under the same tag: pods of the previous one go.
        self.kubectl(stack, "rollout", "restart", "deployment", "-n", SERVICES_NAMESPACE,
                     "-l", PART_OF)  # fmt: skip
        deadline = time.monotonic() + ROLLOUT_TIMEOUT
        for service in SERVICE_NAMES:
            left = max(1, int(deadline - time.monotonic()))
            try:
                self.kubectl(stack, "rollout", "status", f"deployment/{service}", "-n",
                             SERVICES_NAMESPACE, f"--timeout={left}s")  # fmt: skip
            except StackError as exc:
                raise StackError(f"{exc}\n{self.diagnosis(stack, service)}") from exc
        wait_until(
            "the gateway pod", lambda: gateway_ready(self.gateway_url()), 60,
            on_failure=lambda: self.diagnosis(stack, "gateway"),
        )  # fmt: skip
        self.deployed_file(stack).write_text(self.what_to_deploy(stack))

    def diagnosis(self, stack: Stack, service: str) -> str:
        try:
            pods = self.kubectl(stack, "get", "pods", "-n", SERVICES_NAMESPACE, "-l",
                                f"app.kubernetes.io/name={service}", "-o", "wide")  # fmt: skip
            logs = self.kubectl(stack, "logs", "-n", SERVICES_NAMESPACE, f"deployment/{service}",
                                "--tail=20")  # fmt: skip
        except StackError as exc:
            return str(exc)
        return f"{pods}\nlast lines of {service}'s log:\n{logs}"

    def stop(self, stack: Stack) -> bool:
        if not stack.layout.kubeconfig.exists():
            return False
        try:
            present = self.kubectl(
                stack, "get", "deployments", "-n", SERVICES_NAMESPACE, "-l", PART_OF, "-o", "name"
            ).split()
        except (StackError, subprocess.TimeoutExpired):
            return False  # no apiserver: nothing of ours can run
        self.kubectl(stack, "delete", "deployments,services,poddisruptionbudgets,jobs",
                     "-n", SERVICES_NAMESPACE, "-l", PART_OF, "--ignore-not-found",
                     "--wait=false")  # fmt: skip
        self.kubectl(stack, "delete", "secrets", "-n", SERVICES_NAMESPACE,
                     "-l", "simpipe.io/stack=cluster-mode", "--ignore-not-found")  # fmt: skip
        configs = [
            name for name in self.kubectl(
                stack, "get", "configmaps", "-n", SERVICES_NAMESPACE, "-o", "name"
            ).split()
            if name.startswith("configmap/simpipe-config-")
        ]  # fmt: skip
        if configs:
            self.kubectl(stack, "delete", "-n", SERVICES_NAMESPACE, *configs)
        return bool(present)

    def gateway_url(self) -> str:
        return f"http://{SERVICE_IPS['gateway']}:8080"

    def endpoints(self, stack: Stack) -> dict[str, str]:
        """The same keys as the processes' (components/services.py), at the
        Services' fixed addresses: the suites run unchanged in this mode."""
        gateway = self.gateway_url()
        found = {"graphql": f"{gateway}/graphql", "mode": "cluster"}
        for service in SERVICE_NAMES:
            address = SERVICE_IPS[service]
            found[f"{service}_http"] = f"http://{address}:{SERVICE_HTTP_PORTS[service]}"
            if service != "gateway":
                found[f"{service}_grpc"] = f"{address}:{GRPC_PORTS[service]}"
        return found


def json_of(text: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(text)
    return found


def gateway_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False
