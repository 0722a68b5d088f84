from simpipe_argo_watcher.convert import DEFAULT_ARTIFACT_BUCKET
from simpipe_common.settings import ArgoSettings, GrpcServiceSettings, KubernetesSettings


class ArgoWatcherSettings(GrpcServiceSettings, KubernetesSettings, ArgoSettings):
    grpc_port: int = 50052
    http_port: int = 9102
    # A watch request ends after this long and is resumed from the last
    # resourceVersion: a connection that died silently is noticed within it.
    watch_timeout_seconds: int = 60
    # The Lease that elects the one replica that publishes events.
    leader_lease_name: str = "simpipe-argo-watcher"
    # Without renewal the Lease expires after this long and another replica
    # takes over: the longest gap in publishing after a leader crashes.
    leader_lease_seconds: int = 15
    # How long a request waits for the first list of Workflows after a start.
    initial_sync_timeout_seconds: float = 10.0
    # Upper bound of one request to the Argo server.
    argo_timeout_seconds: float = 10.0
    # The bucket of Argo's default artifact repository, for Workflows whose
    # status does not name it.
    artifact_bucket: str = DEFAULT_ARTIFACT_BUCKET
