from simpipe_common.settings import (
    ArgoSettings,
    GrpcServiceSettings,
    KubernetesSettings,
    S3Settings,
)


class ArgoWatcherSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings, S3Settings):
    grpc_port: int = 50052
    http_port: int = 9102
