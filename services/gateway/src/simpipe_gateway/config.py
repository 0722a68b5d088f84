from simpipe_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    # The API, /health and /metrics share one port; the gateway serves no gRPC.
    http_port: int = 8080
