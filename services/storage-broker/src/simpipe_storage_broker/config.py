from simpipe_common.settings import GrpcServiceSettings, S3Settings


class StorageBrokerSettings(GrpcServiceSettings, S3Settings):
    grpc_port: int = 50054
    http_port: int = 9104
