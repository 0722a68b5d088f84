"""Settings read from SIMPIPE_* environment variables.

A service's settings class subclasses ServiceSettings (HTTP only) or GrpcServiceSettings,
plus the mixins of the systems it talks to, and sets its own default ports.
"""

from pathlib import Path
from typing import Annotated

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from simpipe_common.energy import EnergyModel

ENV_PREFIX = "SIMPIPE_"
MIB = 1024 * 1024


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    bind_host: str = "127.0.0.1"
    # Serves /health and /metrics (and the gateway's API); 0 picks a free port.
    http_port: int = 8080
    log_level: str = "INFO"
    nats_url: str = "nats://127.0.0.1:4222"
    # How long in-flight requests may finish after SIGTERM before they are cancelled.
    shutdown_grace_seconds: float = 5.0
    # Upper bound of one dependency check, so a dead dependency answers fast.
    check_timeout_seconds: float = 2.0
    # The mesh's TLS (PEM files; in a cluster, a Secret mounted per service):
    # the CA every peer's certificate must be signed by, and this service's
    # own certificate and key, whose common name is who it is to the others.
    # gRPC servers require a client certificate; clients present theirs and
    # check the server's (simpipe_common.mesh_tls).
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # This service's NATS user: the server lets it publish its own events and
    # read what it consumes, nothing else.
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")
    # For tests only: plaintext gRPC without identities and NATS without a
    # user. Without it a service that lacks the TLS files or its NATS user
    # refuses to start.
    mesh_insecure: bool = False
    # gRPC message limits between services, on both ends of a call: requests
    # (a caller's to a server) and answers. A service's own largest answer
    # sets its limit (the metrics-collector's series are the largest).
    grpc_max_request_bytes: int = 4 * MIB
    grpc_max_answer_bytes: int = 4 * MIB

    @field_validator("nats_url")
    @classmethod
    def _not_websocket(cls, url: str) -> str:
        # nats-py is imported without its websocket transport (_nats_import).
        if url.strip().lower().startswith(("ws://", "wss://")):
            raise ValueError("the services reach NATS over nats:// or tls://, not websockets")
        return url


class GrpcServiceSettings(ServiceSettings):
    # 0 picks a free port.
    grpc_port: int = 50051
    # gRPC server reflection (what grpcurl lists): it tells any peer every
    # method, so it is off unless asked for.
    grpc_reflection: bool = False
    # Mesh identities that may call this service besides the mesh's rules
    # (simpipe_common.grpc_callers), e.g. the local stack's `tests`.
    # SIMPIPE_GRPC_EXTRA_CALLERS=a,b
    grpc_extra_callers: Annotated[frozenset[str], NoDecode] = frozenset()

    # Named apart: a subclass's validator of the same name would replace it.
    @field_validator("grpc_extra_callers", mode="before")
    @classmethod
    def _extra_callers_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value


class KubernetesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # None: use the pod's service account (in-cluster configuration).
    kubeconfig: Path | None = None
    # Where SIM-PIPE's Projects, WorkflowTemplates and Workflows live.
    namespace: str = "simpipe"
    # Where every run placed on virtual (KWOK) nodes lives, simulations' copies
    # included: nothing else runs there, and none of it in `namespace`. A run's
    # id (its Workflow's name) is unique across both.
    simulation_namespace: str = "simpipe-sim"

    @property
    def run_namespaces(self) -> tuple[str, str]:
        """Where a run may be, the real nodes' namespace first."""
        return (self.namespace, self.simulation_namespace)


class ArgoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    argo_server_url: str = "http://127.0.0.1:2746"
    # A Kubernetes ServiceAccount token the Argo server (`--auth-mode=client`)
    # acts with: in a pod the projected token
    # /var/run/secrets/kubernetes.io/serviceaccount/token, locally one the
    # stack mints. Read again when the file changes or Argo answers 401
    # (simpipe_common.argo_auth). None: no token sent (Argo in `server` mode).
    argo_token_file: Path | None = None


class EnergySettings(BaseSettings):
    """The energy estimate's power model, read from the same variables by
    every service that estimates (collector, kwok-scaler, gateway), so their
    figures agree."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Watts per busy core and per GB of memory held (Green Algorithms'
    # 0.3725 W/GB), and the grid's carbon intensity.
    watts_per_core: float = 10.0
    watts_per_gb_memory: float = 0.3725
    grid_g_co2_per_kwh: float = 300.0

    def energy_model(self) -> EnergyModel:
        return EnergyModel(self.watts_per_core, self.watts_per_gb_memory, self.grid_g_co2_per_kwh)


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    s3_endpoint: str = "http://127.0.0.1:9000"
    # Credentials have no default: they come from the stack's secrets.
    s3_access_key: str
    s3_secret_key: SecretStr
    s3_region: str = "us-east-1"
    # MinIO and most self-hosted S3 servers need path-style addressing.
    s3_path_style: bool = True
    # The S3 endpoint presigned URLs point at: the one browsers and other
    # clients reach (an ingress, a public name), when that is not the
    # service's own `s3_endpoint`. Empty: the same.
    s3_public_endpoint: str = ""

    @property
    def presign_endpoint(self) -> str:
        return self.s3_public_endpoint or self.s3_endpoint
