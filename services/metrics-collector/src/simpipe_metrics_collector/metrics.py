"""The metrics-collector's own Prometheus metrics (served on /metrics)."""

import prometheus_client

REPORTS_WRITTEN = prometheus_client.Counter(
    "simpipe_metrics_collector_reports_written", "Run reports written to S3"
)
REPORT_FAILURES = prometheus_client.Counter(
    "simpipe_metrics_collector_report_failures",
    "Attempts to write or announce a run report that failed (the event is delivered again)",
)
# From this delivery of one event on, its report's failures are overdue.
ALERT_AFTER_DELIVERIES = 5
REPORTS_OVERDUE = prometheus_client.Counter(
    "simpipe_metrics_collector_report_failures_overdue",
    f"Report failures of an event delivered {ALERT_AFTER_DELIVERIES} times or more: a run"
    " whose report keeps failing (alert on any increase)",
)
REPORT_SECONDS = prometheus_client.Histogram(
    "simpipe_metrics_collector_report_seconds",
    "Time to gather and store one run report, after the settle wait",
)
