"""The metrics-collector's own Prometheus metrics (served on /metrics)."""

import prometheus_client

REPORTS_WRITTEN = prometheus_client.Counter(
    "simpipe_metrics_collector_reports_written", "Run reports written to S3"
)
REPORT_FAILURES = prometheus_client.Counter(
    "simpipe_metrics_collector_report_failures",
    "Attempts to write or announce a run report that failed (the event is delivered again)",
)
REPORT_SECONDS = prometheus_client.Histogram(
    "simpipe_metrics_collector_report_seconds",
    "Time to gather and store one run report, after the settle wait",
)
