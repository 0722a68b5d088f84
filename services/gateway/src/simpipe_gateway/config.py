from pydantic import SecretStr

from simpipe_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    http_port: int = 8080
    workflow_submitter_addr: str = "127.0.0.1:50051"
    argo_watcher_addr: str = "127.0.0.1:50052"
    storage_broker_addr: str = "127.0.0.1:50054"
    metrics_collector_addr: str = "127.0.0.1:50053"
    # Static API tokens, "token=user" pairs separated by commas (from
    # configuration or a mounted Kubernetes Secret). Tokens shorter than 16
    # characters are refused at start.
    api_tokens: SecretStr = SecretStr("")
    # OpenID Connect: JWTs signed by a key of this JWKS, for this issuer and audience.
    oidc_jwks_url: str = ""
    oidc_issuer: str = ""
    oidc_audience: str = ""
    # The claim that names the user.
    oidc_user_claim: str = "preferred_username"
    # Local development only: every request acts as `dev_user`. Must be set
    # explicitly, and the gateway says so in its log at start.
    auth_disabled: bool = False
    dev_user: str = "dev"
    # Request bodies (a query with its variables, e.g. an Argo document) larger
    # than this are refused with 413 before they are read.
    max_query_bytes: int = 2 * 1024 * 1024
    # The NATS address other tools subscribe at, as the AsyncAPI document
    # names it; empty: nats_url.
    events_url: str = ""
