"""A finished run's report: everything needed to study it once the Workflow
is deleted and Prometheus has forgotten it. JSON with the run, its summaries
and every step's series; Parquet with the series as one long table
(node, metric, time, value) for dataframes and query engines."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.json_format import MessageToDict

from simpipe.v1 import dry_runs_pb2
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_metrics_collector.collector import Step, StepSeries
from simpipe_metrics_collector.series_table import SeriesRows, write_parquet

FORMAT = "simpipe.run-report/v1"


def report_json(
    dry_run: dry_runs_pb2.DryRun,
    phase: str,
    summary: pb.RunSummary,
    steps: Sequence[Step],
    series: Sequence[StepSeries],
    created_at: datetime,
) -> bytes:
    by_node: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for found in series:
        samples = found.samples
        by_node.setdefault(found.node_id, {})[found.metric] = list(
            zip(samples.timestamps, samples.values, strict=True)
        )
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


async def report_parquet(steps: Sequence[Step], series: Sequence[StepSeries]) -> bytes:
    step_of = {s.node_id: s for s in steps}
    return await write_parquet(
        [
            SeriesRows(
                found.node_id,
                step_of[found.node_id].display_name,
                step_of[found.node_id].pod_name,
                found.metric,
                found.samples.timestamps,
                found.samples.values,
            )
            for found in series
            if found.node_id in step_of and found.samples
        ]
    )
