"""The argo-watcher's Prometheus metrics (served on /metrics by the runner)."""

import prometheus_client

WATCH_EVENTS = prometheus_client.Counter(
    "simpipe_argo_watcher_watch_events",
    "Workflow watch events processed, by type (ADDED, MODIFIED, DELETED, BOOKMARK)",
    ["type"],
)
RELISTS = prometheus_client.Counter(
    "simpipe_argo_watcher_relists",
    "Full lists of Workflows, by reason (start, gone: the resourceVersion expired)",
    ["reason"],
)
WATCH_ERRORS = prometheus_client.Counter(
    "simpipe_argo_watcher_watch_errors", "Watch or list requests that failed and were retried"
)
EVENTS_PUBLISHED = prometheus_client.Counter(
    "simpipe_argo_watcher_events_published",
    "Events acknowledged by JetStream, by event (DryRunPhaseChanged, StepPhaseChanged)",
    ["event"],
)
PUBLISH_FAILURES = prometheus_client.Counter(
    "simpipe_argo_watcher_publish_failures",
    "Events JetStream did not acknowledge (the state is published again later)",
)
EVENTS_UNPUBLISHABLE = prometheus_client.Counter(
    "simpipe_argo_watcher_events_unpublishable",
    "Events left out because no subject can name them (a run without an owner)",
)
IS_LEADER = prometheus_client.Gauge(
    "simpipe_argo_watcher_leader", "1 while this replica holds the Lease and publishes"
)
