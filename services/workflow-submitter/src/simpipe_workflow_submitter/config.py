from simpipe_common.settings import ArgoSettings, GrpcServiceSettings, KubernetesSettings


class WorkflowSubmitterSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings):
    grpc_port: int = 50051
    http_port: int = 9101
    # Uploaded Workflow / WorkflowTemplate documents larger than this are
    # refused before parsing (Argo's own objects are capped by etcd at ~1.5 MB).
    max_document_bytes: int = 512 * 1024
