"""The six SIM-PIPE services, each `python -m simpipe_<name>` from .venv."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.components.argo import (
    ARTIFACT_BUCKET,
    ARTIFACT_SECRET,
    argo_token_env,
    s3_endpoint_for_pods,
)
from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.minio import REGION, Minio
from simpipe_devstack.components.nats import nats_user_env
from simpipe_devstack.components.oidc import Oidc
from simpipe_devstack.components.prometheus import KWOK_SCRAPE_INTERVALS
from simpipe_devstack.layout import (
    SIMULATION_NAMESPACE,
    WEB_BUILD,
    WORKFLOW_NAMESPACE,
    gui_origins,
)
from simpipe_devstack.mesh_pki import stack_pki
from simpipe_devstack.mesh_users import MESH_IDENTITIES, TESTS

# Where the stack and its tests have always found them.
from simpipe_devstack.mesh_users import SERVICE_NAMES as SERVICE_NAMES
from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import service_started

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack


# Python's -OO for the services: docstrings are not kept in memory (nor
# asserts run), so each service stays smaller; their GraphQL schema and
# behaviour are the same.
# deploy/kustomize sets the same.
PYTHON_ENV = {"PYTHONOPTIMIZE": "2"}


def port_key(service: str, kind: str) -> str:
    return f"{service.replace('-', '_')}_{kind}"


def service_env(stack: Stack, service: str) -> dict[str, str]:
    """The SIMPIPE_* settings of one service: what its settings class reads,
    with its own mesh identity (TLS files, NATS user) and only the secrets
    it needs (S3 keys to the storage-broker, metrics-collector and
    kwok-scaler, API tokens to the gateway)."""
    ports, secrets = stack.layout.ports, stack.secrets
    common = {
        "SIMPIPE_BIND_HOST": "127.0.0.1",
        "SIMPIPE_LOG_LEVEL": "info",
        "SIMPIPE_NATS_URL": f"nats://127.0.0.1:{ports['nats']}",
        **nats_user_env(stack, service),
        **stack_pki(stack).files(service).env(),
    }
    if service != "gateway":
        # The integration tests call every service directly.
        common["SIMPIPE_GRPC_EXTRA_CALLERS"] = TESTS
    kubernetes = {
        "SIMPIPE_KUBECONFIG": str(stack.layout.kubeconfig),
        "SIMPIPE_NAMESPACE": WORKFLOW_NAMESPACE,
        "SIMPIPE_SIMULATION_NAMESPACE": SIMULATION_NAMESPACE,
    }
    argo = {
        "SIMPIPE_ARGO_SERVER_URL": f"http://127.0.0.1:{ports['argo_server']}",
        **argo_token_env(stack, service),
    }
    s3 = {
        "SIMPIPE_S3_ENDPOINT": Minio().url(stack),
        "SIMPIPE_S3_REGION": REGION,
        "SIMPIPE_S3_ACCESS_KEY": secrets.s3_access_key,
        "SIMPIPE_S3_SECRET_KEY": secrets.s3_secret_key,
        "SIMPIPE_S3_PATH_STYLE": "true",
    }
    own: dict[str, dict[str, str]] = {
        "workflow-submitter": {
            **kubernetes,
            **argo,
            # Argo's artifact repository (components/argo.py), as the steps' pods reach it.
            "SIMPIPE_ARTIFACT_S3_ENDPOINT": s3_endpoint_for_pods(stack),
            "SIMPIPE_ARTIFACT_S3_INSECURE": "true",
            "SIMPIPE_ARTIFACT_S3_SECRET": ARTIFACT_SECRET,
            # Each project's S3 credentials for its steps come from the broker.
            "SIMPIPE_STORAGE_BROKER_ADDR": f"127.0.0.1:{ports['storage_broker_grpc']}",
        },
        "argo-watcher": {**kubernetes, **argo, "SIMPIPE_ARTIFACT_BUCKET": ARTIFACT_BUCKET},
        "metrics-collector": {
            **s3,
            "SIMPIPE_NAMESPACE": WORKFLOW_NAMESPACE,
            "SIMPIPE_PROMETHEUS_URL": f"http://127.0.0.1:{ports['prometheus']}",
            "SIMPIPE_ARGO_WATCHER_ADDR": f"127.0.0.1:{ports['argo_watcher_grpc']}",
        },
        "storage-broker": {
            **s3,
            # Shared by owner prefix, like the upload bucket; MinIO's admin API
            # (the root keys) makes each project's scoped credentials.
            "SIMPIPE_ARTIFACT_BUCKET": ARTIFACT_BUCKET,
            "SIMPIPE_PROJECT_CREDENTIALS": "minio",
            # Bucket CORS where the S3 takes it (MinIO takes its own setting).
            "SIMPIPE_CORS_ALLOWED_ORIGINS": gui_origins(stack.layout.ports),
        },
        "kwok-scaler": {
            **kubernetes,
            **argo,
            # Simulation reports, beside the run reports.
            **s3,
            "SIMPIPE_REPORTS_BUCKET": "simpipe-reports",
            # A simulation's runs go through the submitter (one policy path);
            # the watcher tells their steps, the collector reference reports.
            "SIMPIPE_WORKFLOW_SUBMITTER_ADDR": f"127.0.0.1:{ports['workflow_submitter_grpc']}",
            "SIMPIPE_ARGO_WATCHER_ADDR": f"127.0.0.1:{ports['argo_watcher_grpc']}",
            "SIMPIPE_METRICS_COLLECTOR_ADDR": f"127.0.0.1:{ports['metrics_collector_grpc']}",
            # A simulated step must last three cAdvisor scrapes of wall time:
            # the time scale is bounded by the intervals Prometheus really
            # uses, one per scrape class (SIMPIPE_SIMULATION_SCRAPE_...
            # for the standard one, SIMPIPE_SIMULATION_<CLASS>_SCRAPE_...).
            **{
                "SIMPIPE_SIMULATION_"
                + ("" if scrape == "standard" else f"{scrape.upper()}_")
                + "SCRAPE_INTERVAL_SECONDS": str(go_seconds(interval))
                for scrape, interval in KWOK_SCRAPE_INTERVALS.items()
            },
        },
        "gateway": {
            # Its view of the services and of its callers.
            "SIMPIPE_WORKFLOW_SUBMITTER_ADDR": f"127.0.0.1:{ports['workflow_submitter_grpc']}",
            "SIMPIPE_ARGO_WATCHER_ADDR": f"127.0.0.1:{ports['argo_watcher_grpc']}",
            "SIMPIPE_METRICS_COLLECTOR_ADDR": f"127.0.0.1:{ports['metrics_collector_grpc']}",
            "SIMPIPE_STORAGE_BROKER_ADDR": f"127.0.0.1:{ports['storage_broker_grpc']}",
            "SIMPIPE_KWOK_SCALER_ADDR": f"127.0.0.1:{ports['kwok_scaler_grpc']}",
            "SIMPIPE_API_TOKENS": secrets.gateway_tokens_setting(),
            # The users' access tokens live as Secrets in the cluster.
            "SIMPIPE_KUBECONFIG": str(stack.layout.kubeconfig),
            # A developer's stack, on loopback only: GraphiQL and introspection
            # on (a deployment leaves them off, the settings' default).
            "SIMPIPE_GRAPHIQL": "true",
            "SIMPIPE_INTROSPECTION": "true",
            # ID tokens of the local OpenID provider (an OIDC login).
            **Oidc().gateway_settings(stack),
            # The local GUI's pages call the API from their own origin.
            "SIMPIPE_CORS_ALLOWED_ORIGINS": gui_origins(stack.layout.ports),
            # Our own GUI, once built, from the gateway's own address; its
            # pages upload to MinIO with presigned URLs.
            **({"SIMPIPE_WEB_DIR": str(WEB_BUILD)} if (WEB_BUILD / "index.html").is_file() else {}),
            "SIMPIPE_WEB_CONNECT_SOURCES": Minio().url(stack),
        },
    }
    return common | own[service]


def go_seconds(duration: str) -> float:
    """A Prometheus duration of one unit ("1s", "250ms") in seconds."""
    if duration.endswith("ms"):
        return float(duration[:-2]) / 1000
    if duration.endswith("s"):
        return float(duration[:-1])
    raise ValueError(f"unexpected duration {duration!r}")


# The order the services take the CPUs in, one each in turn: the gateway and
# the workflow-submitter, one after the other on every createDryRun, first.
CPU_ORDER = (
    "gateway",
    "workflow-submitter",
    "argo-watcher",
    "storage-broker",
    "metrics-collector",
    "kwok-scaler",
)


def service_cpu(service: str) -> int | None:
    """The one CPU a service's threads run on, or None on a single CPU.

    A service's Python runs one thread at a time; on one CPU, gRPC's poller,
    the event loop and worker threads hand work to each other without waking
    a second, idle CPU (slow on a VM), which shortens createDryRun's path."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return cpus[CPU_ORDER.index(service) % len(cpus)]


class Service(ProcessComponent):
    ready_timeout = 30.0

    def __init__(self, service: str) -> None:
        self.name = service
        self.module = "simpipe_" + service.replace("-", "_")
        self.http_key = port_key(service, "http")
        grpc_key = port_key(service, "grpc")
        self.grpc_key = grpc_key if service != "gateway" else None
        self.port_keys = (self.http_key,) + ((grpc_key,) if self.grpc_key else ())

    def prepare(self, stack: Stack) -> None:
        made = stack_pki(stack).ensure(MESH_IDENTITIES)
        if made:
            stack.out(f"  mesh certificates made: {', '.join(made)}")

    def spec(self, stack: Stack) -> ProcessSpec:
        ports = stack.layout.ports
        env = (
            service_env(stack, self.name)
            | PYTHON_ENV
            | {"SIMPIPE_HTTP_PORT": str(ports[self.http_key])}
        )
        if self.grpc_key:
            env["SIMPIPE_GRPC_PORT"] = str(ports[self.grpc_key])
        return ProcessSpec(
            self.name, [sys.executable, "-m", self.module], env=env, cpu=service_cpu(self.name)
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return service_started(f"http://127.0.0.1:{stack.layout.ports[self.http_key]}/health")

    def endpoints(self, stack: Stack) -> dict[str, str]:
        ports = stack.layout.ports
        found = {f"{self.name}_http": f"http://127.0.0.1:{ports[self.http_key]}"}
        if self.grpc_key:
            found[f"{self.name}_grpc"] = f"127.0.0.1:{ports[self.grpc_key]}"
        if self.name == "gateway":
            found["graphql"] = f"http://127.0.0.1:{ports[self.http_key]}/graphql"
        return found
