from simpipe_common.settings import GrpcServiceSettings, S3Settings


class MetricsCollectorSettings(GrpcServiceSettings, S3Settings):
    grpc_port: int = 50053
    http_port: int = 9103
    prometheus_url: str = "http://127.0.0.1:9090"
