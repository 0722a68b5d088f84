from simpipe_common.settings import ArgoSettings, GrpcServiceSettings, KubernetesSettings


class KwokScalerSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings):
    grpc_port: int = 50055
    http_port: int = 9105
