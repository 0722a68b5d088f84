from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import NoDecode

from simpipe_common.origins import parse_origins
from simpipe_common.settings import GrpcServiceSettings, S3Settings

# SigV4 presigned URLs live at most 7 days.
SIGV4_MAX_TTL_SECONDS = 7 * 24 * 3600


class StorageBrokerSettings(GrpcServiceSettings, S3Settings):
    grpc_port: int = 50054
    http_port: int = 9104
    # Bounds each S3 call of the broker (never an upload: clients upload to S3).
    s3_timeout_seconds: float = 10.0
    # The system's own buckets (Argo's artifact repository, run reports):
    # never created, deleted or written through the broker; of these, only
    # the artifact bucket is readable (each owner their part), the others
    # are not there for callers.
    # SIMPIPE_RESERVED_BUCKETS=a,b
    reserved_buckets: Annotated[frozenset[str], NoDecode] = frozenset(
        {"argo-artifacts", "simpipe-reports"}
    )
    # Where uploads go when a request names no bucket (created on first use);
    # shared, split by owner prefix (ownership).
    default_bucket: str = "simpipe-uploads"
    # Argo's artifact bucket (one of the reserved buckets): shared, split by
    # owner prefix, read-only through the broker; projects' steps write it.
    artifact_bucket: str = "argo-artifacts"
    # What makes S3 credentials scoped to a project for its steps: "minio"
    # (service accounts through MinIO's admin API at s3_endpoint, as the root
    # user), or "none" (an S3 without one: dry runs are then refused).
    project_credentials: Literal["minio", "none"] = "minio"
    # Browser origins (a GUI's pages) allowed to PUT and GET presigned URLs:
    # written as CORS rules on each bucket the broker creates, where the S3
    # takes them (MinIO does not: it takes its origins from its own
    # configuration, MINIO_API_CORS_ALLOW_ORIGIN). Same setting as the gateway's.
    cors_allowed_origins: str = ""
    presign_default_ttl_seconds: int = 600
    presign_max_ttl_seconds: int = SIGV4_MAX_TTL_SECONDS

    @field_validator("reserved_buckets", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)
        return value

    @field_validator("presign_default_ttl_seconds", "presign_max_ttl_seconds")
    @classmethod
    def _sigv4_ttl(cls, value: int) -> int:
        if not 1 <= value <= SIGV4_MAX_TTL_SECONDS:
            raise ValueError(f"must be 1-{SIGV4_MAX_TTL_SECONDS} seconds")
        return value
