"""The MetricsCollector gRPC service. Every request names its caller; the
runs it may see are the argo-watcher's answer for that caller."""

from dataclasses import dataclass

from google.protobuf.json_format import ParseDict
from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe.v1 import metrics_collector_pb2_grpc
from simpipe_common import validation
from simpipe_common.errors import Context, InvalidInputError, NotFoundError, typed_errors
from simpipe_common.memory import DeferredTrim
from simpipe_metrics_collector import scaling
from simpipe_metrics_collector.aggregation import aggregated_nodes
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.collector import MetricsCollector, unix_seconds
from simpipe_metrics_collector.messages import (
    laws_message,
    node_data,
    node_data_message,
    prediction_message,
    run_summary_message,
)
from simpipe_metrics_collector.report_store import ReportStore

MAX_NODE_NAME_LENGTH = 253


@dataclass
class MetricsCollectorApi(metrics_collector_pb2_grpc.MetricsCollectorServicer):
    collector: MetricsCollector
    reports: ReportStore
    sizes: ArtifactSizes
    # Every request decodes Prometheus or S3 answers and frees them: the heap
    # is trimmed after each burst of requests (see DeferredTrim). Asked when a
    # request starts; the trim's delay outlasts the request.
    trim: DeferredTrim

    @typed_errors
    async def GetStepSeries(
        self, request: pb.GetStepSeriesRequest, context: Context
    ) -> pb.GetStepSeriesResponse:
        self.trim.request()
        found = await self.collector.step_series(
            request.caller,
            request.dry_run_id,
            list(request.node_ids),
            list(request.metrics),
            unix_seconds(request.start),
            unix_seconds(request.end),
            request.step_seconds,
        )
        # add() and extend() from the columns: faster than a constructor per
        # series, and most series are empty.
        response = pb.GetStepSeriesResponse()
        add = response.series.add
        for s in found:
            series = add(node_id=s.node_id, metric=s.metric)
            if s.samples:
                series.timestamps.extend(s.samples.timestamps)
                series.values.extend(s.samples.values)
        return response

    @typed_errors
    async def GetRunSummary(self, request: pb.DryRunMetricsRef, context: Context) -> pb.RunSummary:
        self.trim.request()
        dry_run = await self.collector.dry_run(request.caller, request.dry_run_id)
        return run_summary_message(await self.collector.measure(dry_run), self.collector.energy)

    @typed_errors
    async def GetRunReport(self, request: pb.DryRunMetricsRef, context: Context) -> pb.RunReport:
        self.trim.request()
        # Read from S3 under the caller's own prefix: no one else's report can
        # be named, and it outlives the Workflow and Prometheus's retention.
        caller = validation.caller(request.caller)
        dry_run_id = validation.dns_label("dry run id", request.dry_run_id)
        stored = await self.reports.latest(caller, dry_run_id)
        if stored is None:
            raise NotFoundError(f"dry run {dry_run_id} has no report (yet)")
        document = await self.reports.read(stored.keys.json)
        created = Timestamp()
        created.FromDatetime(stored.last_modified)
        return pb.RunReport(
            dry_run_id=dry_run_id,
            uid=str(document.get("uid", "")),
            json_url=await self.reports.url(stored.keys.json),
            parquet_url=await self.reports.url(stored.keys.parquet),
            url_expires_seconds=self.reports.url_seconds,
            created_at=created,
            summary=ParseDict(document.get("summary", {}), pb.RunSummary()),
            phase=str(document.get("phase", "")),
        )

    @typed_errors
    async def GetAggregatedNodesMetrics(
        self, request: pb.GetAggregatedNodesMetricsRequest, context: Context
    ) -> pb.GetAggregatedNodesMetricsResponse:
        self.trim.request()
        nodes = await aggregated_nodes(
            self.collector,
            self.sizes,
            request.caller,
            list(request.dry_run_ids),
            scaling.aggregate(request.aggregate_method),
        )
        return pb.GetAggregatedNodesMetricsResponse(
            nodes=[
                pb.NodesAggregatedNodeMetrics(node_name=name, data=node_data_message(data))
                for name, data in nodes
            ]
        )

    @typed_errors
    async def ComputeScalingLaws(
        self, request: pb.ComputeScalingLawsRequest, context: Context
    ) -> pb.ComputeScalingLawsResponse:
        self.trim.request()
        laws = await self._laws(request)
        return pb.ComputeScalingLawsResponse(nodes=[laws_message(law) for law in laws])

    @typed_errors
    async def PredictScaling(
        self, request: pb.PredictScalingRequest, context: Context
    ) -> pb.PredictScalingResponse:
        self.trim.request()
        laws = await self._laws(request.laws)
        total, steps = scaling.predict(laws, request.data_x_to_predict)
        return pb.PredictScalingResponse(
            total=prediction_message(total),
            nodes=[
                pb.NodeScalingPrediction(node_name=name, prediction=prediction_message(p))
                for name, p in steps
            ],
        )

    async def _laws(self, request: pb.ComputeScalingLawsRequest) -> list[scaling.NodeLaws]:
        """From dry runs or from metrics aggregated before, not both (as the original)."""
        method = scaling.regression(request.regression_method)
        if bool(request.dry_run_ids) == bool(request.nodes):
            raise InvalidInputError("give either dryRunIds or nodesAggregatedNodeMetrics")
        if request.dry_run_ids:
            nodes = await aggregated_nodes(
                self.collector,
                self.sizes,
                request.caller,
                list(request.dry_run_ids),
                scaling.aggregate(request.aggregate_method),
            )
        else:
            validation.caller(request.caller)
            nodes = [(_node_name(n.node_name), node_data(n.data)) for n in request.nodes]
        return scaling.scaling_laws(nodes, list(request.data_x), method)


def _node_name(value: str) -> str:
    if not value or len(value) > MAX_NODE_NAME_LENGTH or not value.isprintable():
        raise InvalidInputError("nodeName must be 1-253 printable characters")
    return value
