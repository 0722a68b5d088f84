from simpipe_common.settings import (
    ArgoSettings,
    GrpcServiceSettings,
    KubernetesSettings,
    S3Settings,
)
from simpipe_kwok_scaler.emulation.settings import EmulationSettings
from simpipe_kwok_scaler.simulations.settings import SimulationSettings


class VirtualClusterSettings(GrpcServiceSettings, KubernetesSettings):
    """Bounds of virtual clusters (clusters/). Every KWOK node is a Node, a
    Lease and a status the kwok-controller keeps renewing: the apiserver,
    etcd and the controller pay for each, whoever asked for it."""

    # The scaler's own namespace: each cluster's record (a ConfigMap).
    scaler_namespace: str = "simpipe-system"
    # Nodes of one pool, of one owner's clusters together, and of every
    # virtual cluster in the stack together (the one shared apiserver).
    max_pool_nodes: int = 5_000
    max_owner_nodes: int = 5_000
    max_total_nodes: int = 10_000
    max_pools: int = 16
    max_owner_clusters: int = 50
    # Pods per node (the kubelet's own default is 110; KWOK nodes hold
    # nothing, but the scheduler and kwok-controller still track each pod).
    max_node_pods: int = 1_000
    max_pool_labels: int = 32
    max_pool_taints: int = 16
    # Node writes in flight at once (connections, and threads of the
    # synchronous client): enough to overlap the apiserver's round trips
    # (it takes 200 mutating requests at once by default); more only
    # queued there and cost CPU here, on the cores the apiserver shares
    # (bench_virtual_nodes times the creates).
    node_write_concurrency: int = 16
    # One Kubernetes API call's deadline.
    kube_timeout_seconds: float = 30.0
    # A cluster this small (nodes, and pods all its nodes hold) is labelled
    # for the fast metric scrape (clusters/scrape.py): enough for the
    # analytic cases and a small pipeline's what-ifs at a time scale of 10,
    # while every such cluster costs KWOK a few renders a second per node.
    fast_scrape_max_nodes: int = 16
    fast_scrape_max_pods: int = 64
    # Above this many nodes a cluster is scraped coarsely: every node is a
    # target of its own, rendered by KWOK and stored by Prometheus.
    standard_scrape_max_nodes: int = 1_000


class KwokScalerSettings(
    VirtualClusterSettings, ArgoSettings, S3Settings, SimulationSettings, EmulationSettings
):
    grpc_port: int = 50055
    http_port: int = 9105
    # The services a simulation goes through: the submitter creates and
    # stops its runs (one policy path), the watcher tells their steps, the
    # collector gives reference runs' reports and fitted scaling laws.
    workflow_submitter_addr: str = "127.0.0.1:50051"
    argo_watcher_addr: str = "127.0.0.1:50052"
    metrics_collector_addr: str = "127.0.0.1:50053"
    # Each call's deadline: above the callee's own bounds, so its typed
    # answer comes through.
    grpc_call_timeout_seconds: float = 30.0
    s3_timeout_seconds: float = 30.0
