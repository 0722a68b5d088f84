"""The emulation's Prometheus metrics (served on /metrics by the runner)."""

import prometheus_client

TASK_RESULTS = prometheus_client.Counter(
    "simpipe_kwok_scaler_emulated_task_results",
    "WorkflowTaskResults written for steps on virtual nodes, by outcome "
    "(created; existing: one was there already)",
    ["outcome"],
)
PODS_SKIPPED = prometheus_client.Counter(
    "simpipe_kwok_scaler_emulation_pods_skipped",
    "Step pods on virtual nodes the emulation could not handle, by reason",
    ["reason"],
)
DAEMONS_STOPPED = prometheus_client.Counter(
    "simpipe_kwok_scaler_emulated_daemons_stopped",
    "Daemon steps on virtual nodes ended because their workflow let them go",
)
WATCH_ERRORS = prometheus_client.Counter(
    "simpipe_kwok_scaler_emulation_watch_errors",
    "Pod watch or list requests that failed and were retried",
)
KUBE_ERRORS = prometheus_client.Counter(
    "simpipe_kwok_scaler_emulation_kube_errors",
    "Kubernetes calls of the emulation that failed (the pod is tried again)",
)
