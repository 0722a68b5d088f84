from simpipe_common.settings import ArgoSettings, GrpcServiceSettings, KubernetesSettings


class WorkflowSubmitterSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings):
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
