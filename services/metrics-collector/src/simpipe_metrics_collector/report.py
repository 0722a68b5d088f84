"""A finished run's report: everything needed to study it once the Workflow
is deleted and Prometheus has forgotten it. JSON with the run, its summaries
and every step's series; Parquet with the series as one long table
(node, metric, time, value) for dataframes and query engines."""

import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.protobuf.json_format import MessageToDict

from simpipe.v1 import dry_runs_pb2
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_metrics_collector.collector import Step, StepSeries

FORMAT = "simpipe.run-report/v1"

_COLUMNS: dict[str, pa.DataType] = {
    "node_id": pa.string(),
    "display_name": pa.string(),
    "pod_name": pa.string(),
    "metric": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "value": pa.float64(),
}
PARQUET_SCHEMA = pa.schema(_COLUMNS)


def report_json(
    dry_run: dry_runs_pb2.DryRun,
    phase: str,
    summary: pb.RunSummary,
    steps: Sequence[Step],
    series: Sequence[StepSeries],
    created_at: datetime,
) -> bytes:
    by_node: dict[str, dict[str, list[list[Any]]]] = {}
    for found in series:
        by_node.setdefault(found.node_id, {})[found.metric] = [[t, v] for t, v in found.samples]
    document = {
        "format": FORMAT,
        "dryRunId": dry_run.id,
        "uid": dry_run.uid,
        "projectId": dry_run.project_id,
        # Argo's spelling, as the run events carry it: Succeeded, Failed, Error.
        "phase": phase,
        "createdAt": created_at.astimezone(UTC).isoformat(),
        "summary": MessageToDict(summary),
        "steps": [
            {
                "nodeId": step.node_id,
                "displayName": step.display_name,
                "podName": step.pod_name,
                "startedAt": step.window.start,
                "finishedAt": step.window.end,
                # Timestamps in unix seconds, values as Prometheus wrote them.
                "series": by_node.get(step.node_id, {}),
            }
            for step in steps
        ],
        "dryRun": MessageToDict(dry_run, preserving_proto_field_name=False),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def report_parquet(steps: Sequence[Step], series: Sequence[StepSeries]) -> bytes:
    step_of = {s.node_id: s for s in steps}
    rows = [
        (found.node_id, step_of[found.node_id], found.metric, t, v)
        for found in series
        if found.node_id in step_of
        for t, v in found.samples
    ]
    table = pa.table(
        {
            "node_id": [r[0] for r in rows],
            "display_name": [r[1].display_name for r in rows],
            "pod_name": [r[1].pod_name for r in rows],
            "metric": [r[2] for r in rows],
            "timestamp": [datetime.fromtimestamp(r[3], UTC) for r in rows],
            "value": [_number(r[4]) for r in rows],
        },
        schema=PARQUET_SCHEMA,
    )
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return math.nan
