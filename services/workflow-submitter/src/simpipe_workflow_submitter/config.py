from simpipe_common.settings import ArgoSettings, GrpcServiceSettings, KubernetesSettings


class WorkflowSubmitterSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings):
    grpc_port: int = 50051
    http_port: int = 9101
