from simpipe_common.settings import MIB, EnergySettings, GrpcServiceSettings, S3Settings


class MetricsCollectorSettings(GrpcServiceSettings, S3Settings, EnergySettings):
    grpc_port: int = 50053
    http_port: int = 9103
    prometheus_url: str = "http://127.0.0.1:9090"
    # Where runs and their steps are learned, scoped by caller.
    argo_watcher_addr: str = "127.0.0.1:50052"
    # The deadline of each call to the argo-watcher: above its own bounds (its
    # first sync and its Argo archive call, 10 s each), so its typed answer
    # comes through.
    argo_watcher_timeout_seconds: float = 20.0
    # A run's series are the mesh's largest answers (README: "Inside the mesh").
    grpc_max_answer_bytes: int = 16 * MIB
    # The namespace of the pods of a run that does not name its own.
    namespace: str = "simpipe"
    # Prometheus's scrape interval of cAdvisor: the finest step worth asking
    # for, and the unit of the waits below.
    scrape_interval_seconds: float = 1.0
    prometheus_timeout_seconds: float = 30.0
    # Range queries in flight at once (one run sends one per metric).
    query_concurrency: int = 8
    reports_bucket: str = "simpipe-reports"
    # How long after a run's terminal phase its report is gathered: the last
    # samples of its steps are scraped by then.
    report_settle_seconds: float = 3.0
    # How long a report's presigned URLs stay valid.
    report_url_seconds: int = 3600
