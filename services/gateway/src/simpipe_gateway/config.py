import ipaddress
from pathlib import Path

from pydantic import SecretStr, model_validator

from simpipe_common.origins import parse_origins
from simpipe_common.settings import MIB, EnergySettings, ServiceSettings
from simpipe_gateway.deadline import DEFAULT_RPC_TIMEOUT_SECONDS


class GatewaySettings(ServiceSettings, EnergySettings):
    http_port: int = 8080
    workflow_submitter_addr: str = "127.0.0.1:50051"
    argo_watcher_addr: str = "127.0.0.1:50052"
    storage_broker_addr: str = "127.0.0.1:50054"
    metrics_collector_addr: str = "127.0.0.1:50053"
    # Virtual clusters and simulations.
    kwok_scaler_addr: str = "127.0.0.1:50055"
    # Static API tokens, "token=user" pairs separated by commas (from
    # configuration or a mounted Kubernetes Secret): the bootstrap users.
    # Tokens shorter than 16 characters are refused at start.
    api_tokens: SecretStr = SecretStr("")
    # OpenID Connect: JWTs signed by a key of this JWKS, for this issuer and
    # audience (both required when the JWKS is set). OIDC users are named
    # "oidc:<claim value>", apart from every other kind of user.
    oidc_jwks_url: str = ""
    oidc_issuer: str = ""
    oidc_audience: str = ""
    # The claim that names the user.
    oidc_user_claim: str = "preferred_username"
    # The web GUI's sign-in (authorization code flow): the gateway trades the
    # code for tokens as this client (default: the audience), with this
    # secret when the provider holds the client confidential. The secret stays
    # here: a page's JavaScript could not keep it.
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    # Local development only: every request acts as `dev_user`. Must be set
    # explicitly, and the gateway says so in its log at start.
    auth_disabled: bool = False
    dev_user: str = "dev"
    # Browser origins (scheme://host[:port], comma-separated) whose pages may
    # call the API: a GUI served from another origin. Empty: none.
    cors_allowed_origins: str = ""
    # The web GUI's built files (services/web/build), served at every path
    # that is not the API's; None: no GUI.
    web_dir: Path | None = None
    # Other origins the GUI's pages may connect to (its Content-Security-
    # Policy's connect-src), comma-separated: the S3 endpoint presigned
    # uploads go to. Empty: the gateway's own origin only.
    web_connect_sources: str = ""
    # Request bodies (a query with its variables, e.g. an Argo document) larger
    # than this are refused with 413 before they are read.
    max_query_bytes: int = 2 * 1024 * 1024
    # The NATS address other tools subscribe at, as the AsyncAPI document
    # names it; empty: nats_url.
    events_url: str = ""
    # The metrics-collector's answers (a run's series) are the largest it takes.
    grpc_max_answer_bytes: int = 16 * MIB

    # Bounds of one operation, checked before anything executes
    # (simpipe_gateway.bounds): a document beyond one is refused with
    # QUERY_TOO_COMPLEX. The original GUI's deepest query is 5 levels, its
    # costliest ~5,600 (see bounds.py for how cost is counted).
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 5000
    # A document's characters, checked before it is parsed (query_length.py).
    max_query_chars: int = 32_768
    max_query_cost: int = 10_000
    # A query or mutation ends with TIMEOUT after this long, its calls to the
    # services cancelled; each call to a service is given at most
    # `rpc_timeout_seconds` (subscriptions' calls too).
    request_timeout_seconds: float = 30.0
    rpc_timeout_seconds: float = DEFAULT_RPC_TIMEOUT_SECONDS
    # GraphiQL at /graphql in a browser, and schema introspection: off unless
    # enabled (the local stack enables both for developers).
    graphiql: bool = False
    introspection: bool = False

    # Access tokens that users create through the API live as Kubernetes
    # Secrets (hashed) in the services' namespace; None: the pod's own cluster.
    kubeconfig: Path | None = None
    services_namespace: str = "simpipe-system"
    # An access token lives at most this long; without expiresInDays, this long.
    max_access_token_days: int = 365
    default_access_token_days: int = 90
    # Access tokens one user may hold at once.
    max_access_tokens_per_user: int = 50

    @model_validator(mode="after")
    def _consistent(self) -> "GatewaySettings":
        """Settings that would open the API wider than meant stop the start.
        With OIDC on, a token of any issuer or for any audience signed by a
        key of the JWKS would pass: both are required. Without authentication,
        anyone who reaches the port is the dev user: only on loopback."""
        if self.oidc_jwks_url:
            missing = [
                f"SIMPIPE_OIDC_{name.upper()}"
                for name, value in (("issuer", self.oidc_issuer), ("audience", self.oidc_audience))
                if not value
            ]
            if missing:
                raise ValueError(
                    f"SIMPIPE_OIDC_JWKS_URL is set, so {' and '.join(missing)} must be set too"
                )
        if self.auth_disabled and not is_loopback(self.bind_host):
            raise ValueError(
                "SIMPIPE_AUTH_DISABLED is for local development only: the gateway must then"
                f" listen on a loopback address (SIMPIPE_BIND_HOST is {self.bind_host!r})"
            )
        parse_origins(self.cors_allowed_origins)
        parse_origins(self.web_connect_sources, "SIMPIPE_WEB_CONNECT_SOURCES origin")
        if self.web_dir is not None and not (self.web_dir / "index.html").is_file():
            raise ValueError(
                f"SIMPIPE_WEB_DIR {self.web_dir} holds no index.html: build the GUI (make web)"
            )
        if self.default_access_token_days > self.max_access_token_days:
            raise ValueError(
                "SIMPIPE_DEFAULT_ACCESS_TOKEN_DAYS exceeds SIMPIPE_MAX_ACCESS_TOKEN_DAYS"
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether `host` is an address only this machine reaches: 127.0.0.0/8 or
    ::1. A name (even "localhost") is not: what it resolves to can change."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
