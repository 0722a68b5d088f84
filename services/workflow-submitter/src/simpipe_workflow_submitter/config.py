from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from simpipe_common.settings import (
    ENV_PREFIX,
    ArgoSettings,
    GrpcServiceSettings,
    KubernetesSettings,
)

# The node kind label of the local stack's nodes (deploy/local's kubelet
# and KWOK nodes); a real node also carries a NoSchedule taint of that key.
NODE_KIND_LABEL = "simpipe.io/node-kind"


class WorkflowPolicySettings(BaseSettings):
    """What the workflow policy sets on every document (policy/)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Every workflow pod's ServiceAccount (no API rights, no token mounted)
    # and the one Argo's executor containers use (create/patch
    # WorkflowTaskResults only): deploy/kustomize/base/workflow-identities.yaml.
    workflow_service_account: str = "simpipe-workflow"
    executor_service_account: str = "simpipe-executor"
    # The uid (and gid, fsGroup) a pod runs as unless its document names
    # another non-root one: images that would run as root still start.
    workflow_run_as_user: int = 65532
    # Bounds of what a document may ask for.
    max_document_depth: int = 64
    max_list_items: int = 10_000
    max_active_deadline_seconds: int = 24 * 3600


class PlacementSettings(BaseSettings):
    """What the typed placement and sandbox options become (placement.py).
    SIMPIPE_REAL_NODE_SELECTOR='{"k": "v"}', SIMPIPE_REAL_NODE_TOLERATIONS='[{...}]'."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    real_node_selector: dict[str, str] = {NODE_KIND_LABEL: "real"}
    real_node_tolerations: list[dict[str, str | int]] = [
        {"key": NODE_KIND_LABEL, "operator": "Equal", "value": "real", "effect": "NoSchedule"}
    ]
    virtual_node_selector: dict[str, str] = {NODE_KIND_LABEL: "kwok"}
    virtual_node_tolerations: list[dict[str, str | int]] = []
    gvisor_runtime_class: str = "gvisor"
    # "gvisor": every dry run on real nodes runs in gVisor unless it asks
    # (sandbox UNSPECIFIED), and asking for none is refused: an installation
    # that hosts untrusted pipelines (deploy/kustomize/overlays/gvisor).
    default_sandbox: Literal["none", "gvisor"] = "none"


class WorkflowSubmitterSettings(
    GrpcServiceSettings, KubernetesSettings, ArgoSettings, WorkflowPolicySettings, PlacementSettings
):
    grpc_port: int = 50051
    http_port: int = 9101
    # Uploaded Workflow / WorkflowTemplate documents larger than this are
    # refused before parsing (Argo's own objects are capped by etcd at ~1.5 MB).
    max_document_bytes: int = 512 * 1024
    # S3 as the steps' pods reach it (host:port, as in Argo's artifact
    # repository), for input files passed to dry runs by reference; the
    # credentials come from this Secret (keys accesskey, secretkey).
    artifact_s3_endpoint: str = "127.0.0.1:9000"
    artifact_s3_insecure: bool = False
    artifact_s3_secret: str = "argo-s3"
    # Registry credentials one user may keep (registry_credentials): each is
    # a Secret, and every run of theirs on real nodes names them all.
    max_registry_credentials: int = 50
