"""Settings read from SIMPIPE_* environment variables.

A service's settings class subclasses ServiceSettings (HTTP only) or GrpcServiceSettings,
plus the mixins of the systems it talks to, and sets its own default ports.
"""

from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SIMPIPE_"


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


class KubernetesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # None: use the pod's service account (in-cluster configuration).
    kubeconfig: Path | None = None
    # Where SIM-PIPE's Projects, WorkflowTemplates and Workflows live.
    namespace: str = "simpipe"


class ArgoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    argo_server_url: str = "http://127.0.0.1:2746"


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
