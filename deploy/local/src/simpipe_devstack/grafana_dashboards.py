"""Grafana dashboards of SIM-PIPE, built with Grafana's typed SDK
(grafana-foundation-sdk), never written as JSON by hand:

- the dry-run dashboard: a step's CPU, memory, network and disk, from the
  cAdvisor series the metrics-collector reads, with the same selectors
  (namespace, pod, the step's `main` container; network counters belong to
  the pod, see simpipe_metrics_collector.catalog);
- the services dashboard: the services' own metrics as Prometheus scrapes
  them (each series labelled `service`, the processes' job and the pods'
  alike): their work rates, report latency, errors, leadership and process
  resources.

`python -m simpipe_devstack dashboards` writes them to
deploy/kustomize/base/dashboards, whose kustomization makes them ConfigMaps
Grafana's dashboard sidecar loads (label grafana_dashboard: "1").
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

DASHBOARDS_DIR = (
    Path(__file__).resolve().parents[4] / "deploy" / "kustomize" / "base" / "dashboards"
)
TAGS = ["simpipe"]
# Every panel queries the data source the `datasource` variable names.
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# The step's own container in an Argo step pod (the `wait` sidecar idles):
# simpipe_metrics_collector.promql.MAIN_CONTAINER.
MAIN_CONTAINER = "main"
STEP = f'namespace="$namespace", pod=~"$pod", container="{MAIN_CONTAINER}"'
# Network counters are the pod's: reported on its `POD` container by a real
# kubelet, on every container by KWOK; max, not sum, so none counts twice.
STEP_POD = 'namespace="$namespace", pod=~"$pod"'
SERVICE = 'service=~"$service"'
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


def _target(query: Query, ref_id: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(query.expr)
        .legend_format(query.legend)
        .ref_id(ref_id)
        .range()
        .datasource(DATASOURCE)
    )


def _series(
    ids: Iterator[int], title: str, unit: str, description: str, *queries: Query
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .id(next(ids))
        .title(title)
        .description(description)
        .unit(unit)
        .min(0)
        .fill_opacity(10)
        .datasource(DATASOURCE)
        .height(8)
        .span(12)
    )
    for index, query in enumerate(queries):
        panel.with_target(_target(query, chr(ord("A") + index)))
    return panel


def _stat(ids: Iterator[int], title: str, unit: str, description: str, query: Query) -> stat.Panel:
    return (
        stat.Panel()
        .id(next(ids))
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .with_target(_target(query, "A"))
        .height(4)
        .span(6)
    )


def _row(ids: Iterator[int], title: str) -> dashboard.Row:
    return dashboard.Row(title).id(next(ids))


def _datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")


def _query_variable(name: str, label: str, query: str, *, multi: bool) -> dashboard.QueryVariable:
    variable = (
        dashboard.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(DATASOURCE)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable.multi(True).include_all(True).all_value(".+")
    return variable


def _step_rate(series: str) -> str:
    return f"sum by (pod) (rate({series}{{{STEP}}}[{RATE}]))"


def _pod_rate(series: str) -> str:
    return f"max by (pod) (rate({series}{{{STEP_POD}}}[{RATE}]))"


def dry_run_dashboard() -> model.Dashboard:
    """A dry run's steps (their pods in one namespace): CPU, memory, network, disk."""
    ids = itertools.count(1)
    return (
        dashboard.Dashboard("SIM-PIPE dry run steps")
        .uid("simpipe-dry-run-steps")
        .description(
            "A dry run's steps by cAdvisor's series: pick the run's namespace and its step pods."
        )
        .tags(TAGS)
        .refresh("10s")
        .time("now-30m", "now")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(_datasource_variable())
        .with_variable(
            _query_variable(
                "namespace",
                "Namespace",
                f'label_values(container_cpu_usage_seconds_total{{container="{MAIN_CONTAINER}"}}, namespace)',
                multi=False,
            )
        )
        .with_variable(
            _query_variable(
                "pod",
                "Step pod",
                f'label_values(container_cpu_usage_seconds_total{{namespace="$namespace", container="{MAIN_CONTAINER}"}}, pod)',
                multi=True,
            )
        )
        .with_row(_row(ids, "CPU and memory"))
        .with_panel(
            _series(
                ids,
                "CPU",
                "short",
                "Cores the step's container uses (rate of container_cpu_usage_seconds_total).",
                Query(_step_rate("container_cpu_usage_seconds_total"), "{{pod}}"),
            )
        )
        .with_panel(
            _series(
                ids,
                "Memory working set",
                "bytes",
                "container_memory_working_set_bytes of the step's container.",
                Query(
                    f"sum by (pod) (container_memory_working_set_bytes{{{STEP}}})",
                    "{{pod}}",
                ),
            )
        )
        .with_row(_row(ids, "Network and disk"))
        .with_panel(
            _series(
                ids,
                "Network",
                "Bps",
                "Bytes per second the step's pod receives and transmits.",
                Query(_pod_rate("container_network_receive_bytes_total"), "{{pod}} receive"),
                Query(_pod_rate("container_network_transmit_bytes_total"), "{{pod}} transmit"),
            )
        )
        .with_panel(
            _series(
                ids,
                "Disk",
                "Bps",
                "Bytes per second the step's container reads and writes.",
                Query(_step_rate("container_fs_reads_bytes_total"), "{{pod}} read"),
                Query(_step_rate("container_fs_writes_bytes_total"), "{{pod}} write"),
            )
        )
        .build()
    )


def _per_service_rate(series: str, *by: str) -> str:
    labels = ", ".join(("service", *by))
    return f"sum by ({labels}) (rate({series}{{{SERVICE}}}[{RATE}]))"


def _or_zero(expr: str) -> str:
    """`expr`, or 0 for each selected service where it has no series yet (a
    labelled counter has none until it first counts): a quiet service shows
    0, not "no data"."""
    return f"({expr}) or on (service) (0 * sum by (service) (simpipe_service_info{{{SERVICE}}}))"


def services_dashboard() -> model.Dashboard:
    """Each service's work, latency, errors and resources, by the metrics it exports."""
    ids = itertools.count(1)
    return (
        dashboard.Dashboard("SIM-PIPE services")
        .uid("simpipe-services")
        .description("The SIM-PIPE services' own metrics (/metrics of each), labelled `service`.")
        .tags(TAGS)
        .refresh("30s")
        .time("now-1h", "now")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(_datasource_variable())
        .with_variable(
            _query_variable(
                "service", "Service", "label_values(simpipe_service_info, service)", multi=True
            )
        )
        .with_row(_row(ids, "Overview"))
        .with_panel(
            _stat(
                ids,
                "Instances up",
                "short",
                "Scraped instances of the selected services that answer /metrics.",
                Query(f"sum(up{{{SERVICE}}})", "up"),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Dry runs created",
                "short",
                "Dry runs the workflow-submitter created in the time range.",
                Query(
                    f"sum(increase(simpipe_dry_runs_created_total{{{SERVICE}}}[$__range]))",
                    "created",
                ),
            )
        )
        .with_panel(
            _stat(
                ids,
                "argo-watcher leaders",
                "short",
                "Replicas holding the argo-watcher's Lease (1 expected).",
                Query(f"sum(simpipe_argo_watcher_leader{{{SERVICE}}})", "leaders"),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Events dropped",
                "short",
                "Events dropped because too many waited for NATS (alert on any).",
                Query(
                    f"sum(increase(simpipe_events_publish_dropped_total{{{SERVICE}}}[$__range]))",
                    "dropped",
                ),
            )
        )
        .with_row(_row(ids, "Work rates"))
        .with_panel(
            _series(
                ids,
                "Dry runs created",
                "reqps",
                "Dry runs the workflow-submitter created per second (retried creates excluded).",
                Query(_per_service_rate("simpipe_dry_runs_created_total"), "{{service}}"),
            )
        )
        .with_panel(
            _series(
                ids,
                "Workflow watch events",
                "ops",
                "Workflow watch events the argo-watcher processed per second, by type.",
                Query(
                    _per_service_rate("simpipe_argo_watcher_watch_events_total", "type"),
                    "{{service}} {{type}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "Events published",
                "ops",
                "Run and step events JetStream acknowledged per second, by event.",
                Query(
                    _or_zero(
                        _per_service_rate("simpipe_argo_watcher_events_published_total", "event")
                    ),
                    "{{service}} {{event}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "Reports and emulated steps",
                "ops",
                "Run reports the metrics-collector wrote, WorkflowTaskResults the kwok-scaler"
                " wrote for steps on virtual nodes, per second.",
                Query(
                    _per_service_rate("simpipe_metrics_collector_reports_written_total"),
                    "{{service}} reports",
                ),
                Query(
                    _or_zero(
                        _per_service_rate(
                            "simpipe_kwok_scaler_emulated_task_results_total", "outcome"
                        )
                    ),
                    "{{service}} task results {{outcome}}",
                ),
            )
        )
        .with_row(_row(ids, "Latency"))
        .with_panel(
            _series(
                ids,
                "Run report time",
                "s",
                "Time to gather and store one run report (after the settle wait): p50, p95.",
                *(
                    Query(
                        f"histogram_quantile({q}, sum by (service, le) (rate("
                        f"simpipe_metrics_collector_report_seconds_bucket{{{SERVICE}}}[{RATE}])))",
                        f"{{{{service}}}} p{round(q * 100)}",
                    )
                    for q in (0.5, 0.95)
                ),
            )
        )
        .with_row(_row(ids, "Requests and backlog"))
        .with_panel(
            _series(
                ids,
                "gRPC requests",
                "reqps",
                "gRPC calls each service answered per second, by method (health and refusals "
                "included; the gateway serves none).",
                Query(
                    _or_zero(
                        _per_service_rate("simpipe_grpc_server_handling_seconds_count", "method")
                    ),
                    "{{service}} {{method}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "gRPC latency p95",
                "s",
                "The time 95% of each service's gRPC calls took (a stream: until its last answer).",
                Query(
                    "histogram_quantile(0.95, sum by (service, le) (rate("
                    f"simpipe_grpc_server_handling_seconds_bucket{{{SERVICE}}}[{RATE}])))",
                    "{{service}} p95",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "gRPC errors",
                "reqps",
                "gRPC calls per second that ended in an error (refused, aborted or raised).",
                Query(
                    _or_zero(
                        "sum by (service, method) (rate(simpipe_grpc_server_handling_seconds_count"
                        f'{{outcome="error", {SERVICE}}}[{RATE}]))'
                    ),
                    "{{service}} {{method}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "Event consumer backlog",
                "short",
                "Each durable consumer's events not delivered yet (lag) and delivered but not "
                "acknowledged (in hand); its replicas report the same numbers.",
                Query(
                    _or_zero(
                        f"max by (service, consumer) (simpipe_events_consumer_pending{{{SERVICE}}})"
                    ),
                    "{{service}} {{consumer}} lag",
                ),
                Query(
                    _or_zero(
                        "max by (service, consumer) "
                        f"(simpipe_events_consumer_ack_pending{{{SERVICE}}})"
                    ),
                    "{{service}} {{consumer}} in hand",
                ),
            )
        )
        .with_row(_row(ids, "Errors"))
        .with_panel(
            _series(
                ids,
                "Event publishing",
                "ops",
                "Events NATS did not acknowledge at a try (tried again), and events dropped.",
                Query(
                    _per_service_rate("simpipe_events_publish_retries_total"),
                    "{{service}} retries",
                ),
                Query(
                    _per_service_rate("simpipe_events_publish_dropped_total"),
                    "{{service}} dropped",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "gRPC calls denied",
                "reqps",
                "Calls refused because the calling mesh identity may not call the service.",
                Query(
                    _or_zero(_per_service_rate("simpipe_grpc_calls_denied_total", "caller")),
                    "{{service}} {{caller}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "argo-watcher errors",
                "ops",
                "Failed watch or list requests, events JetStream did not acknowledge, relists.",
                Query(
                    _per_service_rate("simpipe_argo_watcher_watch_errors_total"),
                    "{{service}} watch errors",
                ),
                Query(
                    _per_service_rate("simpipe_argo_watcher_publish_failures_total"),
                    "{{service}} publish failures",
                ),
                Query(
                    _per_service_rate("simpipe_argo_watcher_relists_total", "reason"),
                    "{{service}} relists ({{reason}})",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "Report and emulation errors",
                "ops",
                "Run reports that failed (overdue: delivered 5 times or more), failed"
                " Kubernetes calls and watches of the kwok-scaler's emulation.",
                Query(
                    _per_service_rate("simpipe_metrics_collector_report_failures_total"),
                    "{{service}} report failures",
                ),
                Query(
                    _per_service_rate("simpipe_metrics_collector_report_failures_overdue_total"),
                    "{{service}} overdue",
                ),
                Query(
                    _per_service_rate("simpipe_kwok_scaler_emulation_kube_errors_total"),
                    "{{service}} kube errors",
                ),
                Query(
                    _per_service_rate("simpipe_kwok_scaler_emulation_watch_errors_total"),
                    "{{service}} watch errors",
                ),
            )
        )
        .with_row(_row(ids, "Resources"))
        .with_panel(
            _series(
                ids,
                "CPU",
                "short",
                "Cores each instance uses.",
                Query(
                    f"sum by (service, instance) (rate(process_cpu_seconds_total{{{SERVICE}}}[{RATE}]))",
                    "{{service}} {{instance}}",
                ),
            )
        )
        .with_panel(
            _series(
                ids,
                "Resident memory",
                "bytes",
                "Resident memory of each instance.",
                Query(
                    f"sum by (service, instance) (process_resident_memory_bytes{{{SERVICE}}})",
                    "{{service}} {{instance}}",
                ),
            )
        )
        .build()
    )


DASHBOARDS = {
    "simpipe-dry-run-steps.json": dry_run_dashboard,
    "simpipe-services.json": services_dashboard,
}


def render(built: model.Dashboard) -> str:
    """The dashboard's JSON as Grafana imports it (stable: keys sorted)."""
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def rendered() -> dict[str, str]:
    """Each dashboard's file name and JSON."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A dashboard document's panels (rows' own panels included), rows left out."""
    for panel in document.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def substituted(expr: str, variables: dict[str, str]) -> str:
    """`expr` with `$name` / `${name}` replaced from `variables` (Grafana's
    template syntax; names not given are left as they are)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def write(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """Writes every dashboard's JSON into `directory`; the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
