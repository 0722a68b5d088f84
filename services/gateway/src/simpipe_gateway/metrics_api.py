"""GraphQL over the metrics-collector: each step's Prometheus series under the
original DryRunNodeMetrics names, summaries with energy and carbon, the run
report, and the original scaling-law queries (getAggregatedNodesMetrics,
computeScalingLawsFromNodesMetrics, predictScaling).

A query asking for the series of many steps makes one GetStepSeries call
per dry run and range: a step's `metrics` resolver reads which series the
query asks of it (simpipe_gateway.series_selection) and loads them through a
per-operation DataLoader, which gathers the steps; the collector makes one
Prometheus query per metric for all of them. The series fields then look
their own up in what was loaded.
"""

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple, NewType, cast

import strawberry
from google.protobuf.timestamp_pb2 import Timestamp
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types.scalar import ScalarDefinition

from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import graphql_error, rpc, rpc_or_none
from simpipe_gateway.input_bounds import bounded_list
from simpipe_gateway.scalars import as_is, iso
from simpipe_gateway.series_selection import Place, default_range_series, place


def _timestamp_value(value: Any) -> float:
    """Unix seconds, as the original's TimeStamp; ISO 8601 text is accepted too."""
    if isinstance(value, bool):
        raise ValueError("a TimeStamp is unix seconds or ISO 8601 text")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    raise ValueError("a TimeStamp is unix seconds or ISO 8601 text")


# Mapped to their scalars by METRICS_SCALARS (in the schema's scalar_map).
TimeStamp = NewType("TimeStamp", float)
PrometheusStringNumber = NewType("PrometheusStringNumber", str)
SeriesTable = NewType("SeriesTable", dict)  # type: ignore[type-arg]
METRICS_SCALARS: dict[object, ScalarDefinition] = {
    TimeStamp: strawberry.scalar(
        name="TimeStamp",
        description="A point in time: unix seconds (ISO 8601 text is accepted as input).",
        serialize=as_is,
        parse_value=_timestamp_value,
    ),
    PrometheusStringNumber: strawberry.scalar(
        name="PrometheusStringNumber",
        description=(
            "A number as Prometheus writes it, in a string: exact for integers above 2^53,"
            " and NaN or +Inf survive. Parse it in your application."
        ),
        serialize=str,
        parse_value=str,
    ),
    SeriesTable: strawberry.scalar(
        name="SeriesTable",
        description=(
            "Series by metric name, each as two columns of the same length, in time order:"
            ' {"cpuUsageSecondsTotal": {"timestamps": [unix seconds, ...], "values":'
            ' ["Prometheus\'s text", ...]}, ...}. The values are strings, as in'
            " PrometheusStringNumber."
        ),
        serialize=as_is,
        parse_value=as_is,
    ),
}


@strawberry.type(description="A sample of a step's Prometheus series.")
class PrometheusSample:
    timestamp: TimeStamp
    value: PrometheusStringNumber


class Samples(NamedTuple):
    """A series as GetStepSeries answers it: unix seconds and Prometheus's
    text side by side (a tuple: made by the thousand for every query), made
    into GraphQL objects only for the fields that ask for them."""

    timestamps: Sequence[float] = ()
    values: Sequence[str] = ()

    def objects(self) -> list[PrometheusSample]:
        # Already what the scalars hold: unix seconds, Prometheus's text.
        times = cast(Sequence[TimeStamp], self.timestamps)
        values = cast(Sequence[PrometheusStringNumber], self.values)
        return [PrometheusSample(timestamp=t, value=v) for t, v in zip(times, values, strict=True)]

    def columns(self) -> dict[str, list[Any]]:
        # Copied whole (in C), not element by element.
        return {"timestamps": list(self.timestamps), "values": list(self.values)}


NO_SAMPLES = Samples()

# A series as a field asks for it: (metric, start, end, step; 0 is the default).
SeriesArgs = tuple[str, float | None, float | None, int]
Series = dict[SeriesArgs, Samples]
# (caller, dry run, node, the series asked for that node)
StepKey = tuple[str, str, str, frozenset[SeriesArgs]]


async def _load_steps(keys: Sequence[StepKey], info: GatewayInfo) -> list[Series]:
    """One GetStepSeries per (dry run, range) for all the steps and metrics asked."""
    groups: defaultdict[tuple[str, str, float | None, float | None, int], set[StepKey]]
    groups = defaultdict(set)
    for key in keys:
        who, dry_run_id, _, asked = key
        for _, start, end, step in asked:
            groups[(who, dry_run_id, start, end, step)].add(key)
    # (caller, dry run, node) -> its series.
    found: defaultdict[tuple[str, str, str], Series] = defaultdict(dict)
    for (who, dry_run_id, start, end, step), members in groups.items():
        request = pb.GetStepSeriesRequest(
            caller=who,
            dry_run_id=dry_run_id,
            node_ids=sorted({k[2] for k in members}),
            metrics=sorted({a[0] for k in members for a in k[3]}),
            step_seconds=step,
        )
        if start is not None:
            request.start.CopyFrom(_timestamp(start))
        if end is not None:
            request.end.CopyFrom(_timestamp(end))
        response = await rpc(gateway(info).metrics.GetStepSeries, request)
        for series in response.series:
            found[(who, dry_run_id, series.node_id)][(series.metric, start, end, step)] = Samples(
                series.timestamps, series.values
            )
    loaded: list[Series] = []
    for who, run, node, asked in keys:
        of_node = found.get((who, run, node), {})
        loaded.append({args: of_node.get(args, NO_SAMPLES) for args in asked})
    return loaded


async def _step_series(
    info: GatewayInfo, dry_run_id: str, node_id: str, asked: frozenset[SeriesArgs]
) -> Series:
    key: StepKey = (await caller(info), dry_run_id, node_id, asked)
    series: Series = await _loader(info, "series", _load_steps).load(key)
    return series


def _timestamp(seconds: float) -> Timestamp:
    found = Timestamp()
    found.FromNanoseconds(round(seconds * 1e9))
    return found


# The DataLoaders of the operation being executed (MetricsLoaders sets them).
_OPERATION_LOADERS: ContextVar[dict[str, Any] | None] = ContextVar("metrics_loaders", default=None)


class MetricsLoaders(SchemaExtension):
    """Fresh DataLoaders for each operation (and the series its places ask,
    see _asked_series). The context is not per operation:
    over graphql-transport-ws it is built once per connection and shared by all
    of its operations, so loaders kept there would answer every later query on
    the socket from the first one's cache (failures included) and hold its
    series until the connection closes. (Subscriptions reach no metrics.)"""

    def on_operation(self) -> Iterator[None]:
        token = _OPERATION_LOADERS.set({})
        try:
            yield
        finally:
            _OPERATION_LOADERS.reset(token)


def _loader(info: GatewayInfo, name: str, load: Any) -> Any:
    """A DataLoader for this operation only: what one query asks is batched,
    nothing is cached across operations (or callers). The schema must have the
    MetricsLoaders extension: loaders kept anywhere else would outlive it."""
    loaders = _OPERATION_LOADERS.get()
    if loaders is None:
        raise RuntimeError("metrics loaders need the MetricsLoaders extension in the schema")
    if name not in loaders:

        async def batch(keys: list[Any]) -> list[Any]:
            return list(await load(keys, info))

        loaders[name] = DataLoader(load_fn=batch)
    return loaders[name]


def _asked_series(info: GatewayInfo) -> frozenset[SeriesArgs]:
    """The series (default range) the query asks of the step whose `metrics`
    this is, read once per place in the operation."""
    loaders = _OPERATION_LOADERS.get()
    if loaders is None:
        raise RuntimeError("metrics loaders need the MetricsLoaders extension in the schema")
    by_place: dict[Place, frozenset[SeriesArgs]] = loaders.setdefault("asked", {})
    where = place(info.path)
    found = by_place.get(where)
    if found is None:
        names = default_range_series(info.selected_fields, SERIES_METRICS)
        found = by_place[where] = frozenset((m, None, None, 0) for m in names)
    return found


def _series_args(metric: str, start: Any, end: Any, step: Any) -> SeriesArgs:
    if step is not None and step <= 0:
        raise graphql_error("step must be a positive number of seconds", "INPUT_VALIDATION_ERROR")
    return (metric, start, end, step or 0)


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


# A series field's arguments, named here: strawberry would otherwise work the
# GraphQL name out from the Python one on every call of every field.
Start = Annotated[TimeStamp | None, strawberry.argument(name="start")]
End = Annotated[TimeStamp | None, strawberry.argument(name="end")]
Step = Annotated[int | None, strawberry.argument(name="step")]

# The names of DryRunNodeMetrics's series fields.
SERIES_METRICS: set[str] = set()


def _series_field(metric: str) -> Any:
    """A series: looked up in what the step loaded for the query (every
    series asked without arguments), loaded on its own otherwise (batched
    with the other fields' loads all the same).

    The arguments default to UNSET, not None: strawberry converts only the
    arguments a query gives, and the GUI gives none to any of a run's many
    series fields."""
    SERIES_METRICS.add(metric)
    default_range: SeriesArgs = (metric, None, None, 0)

    def resolve(
        root: "DryRunNodeMetrics",
        info: GatewayInfo,
        start: Start = strawberry.UNSET,
        end: End = strawberry.UNSET,
        step: Step = strawberry.UNSET,
    ) -> Any:
        if start is strawberry.UNSET and end is strawberry.UNSET and step is strawberry.UNSET:
            args = default_range
        else:
            args = _series_args(metric, _given(start), _given(end), _given(step))
        loaded = root.loaded
        if isinstance(loaded, BaseException):
            raise loaded
        found = loaded.get(args)
        if found is not None:
            return found.objects()
        return _one_series(info, root, args)

    return strawberry.field(
        resolver=resolve, name=metric, graphql_type=list[PrometheusSample] | None
    )


async def _one_series(
    info: GatewayInfo, root: "DryRunNodeMetrics", args: SeriesArgs
) -> list[PrometheusSample]:
    loaded = await _step_series(info, root.dry_run_id, root.node_id, frozenset((args,)))
    return loaded[args].objects()


@strawberry.type(description="Totals and extremes of what a step or a run used.")
class MetricsSummary:
    duration_seconds: float
    cpu_seconds: float
    max_cpu_cores: float = strawberry.field(
        description="The highest cpu usage in cores held by two consecutive rate samples."
    )
    avg_cpu_cores: float
    max_memory_bytes: float
    avg_memory_bytes: float
    network_receive_bytes: float
    network_transmit_bytes: float
    fs_read_bytes: float
    fs_write_bytes: float
    energy_kwh: float
    carbon_g_co2: float


def to_summary(message: pb.MetricsSummary) -> MetricsSummary:
    return MetricsSummary(
        duration_seconds=message.duration_seconds,
        cpu_seconds=message.cpu_seconds,
        max_cpu_cores=message.max_cpu_cores,
        avg_cpu_cores=message.avg_cpu_cores,
        max_memory_bytes=message.max_memory_bytes,
        avg_memory_bytes=message.avg_memory_bytes,
        network_receive_bytes=message.network_receive_bytes,
        network_transmit_bytes=message.network_transmit_bytes,
        fs_read_bytes=message.fs_read_bytes,
        fs_write_bytes=message.fs_write_bytes,
        energy_kwh=message.energy_kwh,
        carbon_g_co2=message.carbon_g_co2,
    )


@strawberry.type(description="The power model and grid intensity behind energyKwh and carbonGCo2.")
class EnergyModel:
    watts_per_core: float
    watts_per_gb_memory: float
    grid_g_co2_per_kwh: float


@strawberry.type
class StepMetricsSummary:
    node_id: str
    display_name: str
    pod_name: str
    summary: MetricsSummary


@strawberry.type(
    description="A run's summary (maxima are of its steps' sum at one time) and its steps'."
)
class RunMetricsSummary:
    run: MetricsSummary
    steps: list[StepMetricsSummary]
    energy_model: EnergyModel
    # The steps' summaries by node id (the first of a node's, as a scan finds).
    by_node: strawberry.Private[dict[str, MetricsSummary]]


def to_run_summary(message: pb.RunSummary) -> RunMetricsSummary:
    model = message.energy_model
    steps = [
        StepMetricsSummary(
            node_id=s.node_id,
            display_name=s.display_name,
            pod_name=s.pod_name,
            summary=to_summary(s.summary),
        )
        for s in message.steps
    ]
    by_node: dict[str, MetricsSummary] = {}
    for step in steps:
        by_node.setdefault(step.node_id, step.summary)
    return RunMetricsSummary(
        run=to_summary(message.run),
        steps=steps,
        energy_model=EnergyModel(
            watts_per_core=model.watts_per_core,
            watts_per_gb_memory=model.watts_per_gb_memory,
            grid_g_co2_per_kwh=model.grid_g_co2_per_kwh,
        ),
        by_node=by_node,
    )


async def _load_summaries(
    keys: Sequence[tuple[str, str]], info: GatewayInfo
) -> list[RunMetricsSummary]:
    """The runs' summaries, asked for together and converted once each (every
    step's `summary` looks its own up in the run's by_node)."""
    metrics = gateway(info).metrics

    async def one(who: str, dry_run_id: str) -> RunMetricsSummary:
        ref = pb.DryRunMetricsRef(caller=who, dry_run_id=dry_run_id)
        return to_run_summary(await rpc(metrics.GetRunSummary, ref))

    return list(await asyncio.gather(*(one(who, run) for who, run in keys)))


async def run_metrics_summary(info: GatewayInfo, dry_run_id: str) -> RunMetricsSummary:
    """The run's summary now (live while it runs), once per run and request."""
    key = (await caller(info), dry_run_id)
    summary: RunMetricsSummary = await _loader(info, "summary", _load_summaries).load(key)
    return summary


@strawberry.type(description="Prometheus series of a step, by the original SIM-PIPE names.")
class DryRunNodeMetrics:
    dry_run_id: strawberry.Private[str]
    node_id: strawberry.Private[str]
    # The series step_metrics loaded for the query (or why it could not).
    loaded: strawberry.Private[Series | Exception] = dataclasses.field(default_factory=dict)

    cpu_system_seconds_total = _series_field("cpuSystemSecondsTotal")
    cpu_usage_seconds_total = _series_field("cpuUsageSecondsTotal")
    cpu_user_seconds_total = _series_field("cpuUserSecondsTotal")
    file_descriptors = _series_field("fileDescriptors")
    fs_inodes_free = _series_field("fsInodesFree")
    fs_inodes_total = _series_field("fsInodesTotal")
    fs_io_current = _series_field("fsIoCurrent")
    fs_io_time_seconds_total = _series_field("fsIoTimeSecondsTotal")
    fs_io_time_weighted_seconds_total = _series_field("fsIoTimeWeightedSecondsTotal")
    fs_limit_bytes = _series_field("fsLimitBytes")
    fs_read_seconds_total = _series_field("fsReadSecondsTotal")
    fs_reads_bytes_total = _series_field("fsReadsBytesTotal")
    fs_reads_merged_total = _series_field("fsReadsMergedTotal")
    fs_reads_total = _series_field("fsReadsTotal")
    fs_sector_reads_total = _series_field("fsSectorReadsTotal")
    fs_sector_writes_total = _series_field("fsSectorWritesTotal")
    fs_usage_bytes = _series_field("fsUsageBytes")
    fs_write_seconds_total = _series_field("fsWriteSecondsTotal")
    fs_writes_bytes_total = _series_field("fsWritesBytesTotal")
    fs_writes_merged_total = _series_field("fsWritesMergedTotal")
    fs_writes_total = _series_field("fsWritesTotal")
    memory_cache = _series_field("memoryCache")
    memory_failcnt = _series_field("memoryFailcnt")
    memory_failures_total = _series_field("memoryFailuresTotal")
    memory_mapped_file = _series_field("memoryMappedFile")
    memory_max_usage_bytes = _series_field("memoryMaxUsageBytes")
    memory_rss = _series_field("memoryRss")
    memory_swap = _series_field("memorySwap")
    memory_usage_bytes = _series_field("memoryUsageBytes")
    memory_working_set_bytes = _series_field("memoryWorkingSetBytes")
    network_receive_bytes_total = _series_field("networkReceiveBytesTotal")
    network_receive_errors_total = _series_field("networkReceiveErrorsTotal")
    network_receive_packets_dropped_total = _series_field("networkReceivePacketsDroppedTotal")
    network_receive_packets_total = _series_field("networkReceivePacketsTotal")
    network_transmit_bytes_total = _series_field("networkTransmitBytesTotal")
    network_transmit_errors_total = _series_field("networkTransmitErrorsTotal")
    network_transmit_packets_dropped_total = _series_field("networkTransmitPacketsDroppedTotal")
    network_transmit_packets_total = _series_field("networkTransmitPacketsTotal")
    processes = _series_field("processes")
    sockets = _series_field("sockets")
    threads = _series_field("threads")
    threads_max = _series_field("threadsMax")
    ulimits_soft = _series_field("ulimitsSoft")

    @strawberry.field(  # type: ignore[untyped-decorator]
        name="seriesTable",
        description=(
            "The series named in `metrics` (every series of this type when it is not given),"
            " all in one value: the compact form of the fields above, for reading many"
            " steps' series at once (one value per step instead of an object per sample)."
        ),
    )
    async def series_table(
        self,
        info: GatewayInfo,
        metrics: list[str] | None = None,
        start: Start = strawberry.UNSET,
        end: End = strawberry.UNSET,
        step: Step = strawberry.UNSET,
    ) -> SeriesTable | None:  # None: with an error, as the series fields
        names = _known_metrics(metrics)
        asked = {m: _series_args(m, _given(start), _given(end), _given(step)) for m in names}
        loaded = self.loaded
        if isinstance(loaded, BaseException) or not all(a in loaded for a in asked.values()):
            loaded = await _step_series(
                info, self.dry_run_id, self.node_id, frozenset(asked.values())
            )
        return SeriesTable({m: loaded[a].columns() for m, a in asked.items()})

    @strawberry.field(description="The step's totals and extremes, with energy and carbon.")  # type: ignore[untyped-decorator]
    async def summary(self, info: GatewayInfo) -> MetricsSummary | None:
        run = await run_metrics_summary(info, self.dry_run_id)
        return run.by_node.get(self.node_id)


def _known_metrics(metrics: list[str] | None) -> list[str]:
    """The metrics asked, each once, in order; all of them when none are named."""
    if metrics is None:
        return sorted(SERIES_METRICS)
    names = list(dict.fromkeys(bounded_list(metrics, "metrics", len(SERIES_METRICS))))
    unknown = [name for name in names if name not in SERIES_METRICS]
    if unknown:
        raise graphql_error(
            f"unknown metrics {', '.join(map(repr, unknown[:5]))}; the metrics are the series"
            f" fields of DryRunNodeMetrics: {', '.join(sorted(SERIES_METRICS))}",
            "INPUT_VALIDATION_ERROR",
        )
    return names


async def step_metrics(info: GatewayInfo, dry_run_id: str, node_id: str) -> DryRunNodeMetrics:
    """A step's metrics, with every series the query asks of it without
    arguments loaded in one go (and the steps of a request together)."""
    found = DryRunNodeMetrics(dry_run_id=dry_run_id, node_id=node_id)
    asked = _asked_series(info)
    if asked:
        try:
            found.loaded = await _step_series(info, dry_run_id, node_id, asked)
        except Exception as error:  # each series field raises it, as it would have
            found.loaded = error
    return found


@strawberry.type(description="The durable report of a finished run (JSON and Parquet in S3).")
class RunReport:
    uid: str
    phase: str
    created_at: str
    # Presigned: readable without credentials until they expire.
    url: str
    parquet_url: str
    url_expires_seconds: int
    summary: RunMetricsSummary


async def run_report(info: GatewayInfo, dry_run_id: str) -> RunReport | None:
    """The report, or None while the run has none (not finished yet)."""
    found = await rpc_or_none(
        gateway(info).metrics.GetRunReport,
        pb.DryRunMetricsRef(caller=await caller(info), dry_run_id=dry_run_id),
    )
    if found is None:
        return None
    return RunReport(
        uid=found.uid,
        phase=found.phase,
        created_at=iso(found.created_at) or "",
        url=found.json_url,
        parquet_url=found.parquet_url,
        url_expires_seconds=found.url_expires_seconds,
        summary=to_run_summary(found.summary),
    )


@strawberry.type
class AggregatedNodeMetrics:
    cpu: list[float]
    mem: list[float]
    file_size: list[float]
    duration: list[float]
    node_id: list[str]


@strawberry.input
class AggregatedNodeMetricsInput:
    cpu: list[float]
    mem: list[float]
    file_size: list[float]
    duration: list[float]
    node_id: list[str]


@strawberry.type
class NodesAggregatedNodeMetrics:
    node_name: str
    data: AggregatedNodeMetrics


@strawberry.input
class NodesAggregatedNodeMetricsInput:
    node_name: str
    data: AggregatedNodeMetricsInput


@strawberry.type
class ScalingLawData:
    coeffs: list[float]
    type: str
    r2: float


@strawberry.type
class NodesScalingLaws:
    node_name: str
    cpu: ScalingLawData
    mem: ScalingLawData
    duration: ScalingLawData
    data: AggregatedNodeMetrics


@strawberry.type
class NodeScalingPrediction:
    node_name: str
    cpu: float
    mem: float
    duration: float


@strawberry.type(
    description="Predictions at data_x_to_predict: the sum over the steps, and each step's."
)
class ScalingPredictions:
    cpu: float
    mem: float
    duration: float
    steps: list[NodeScalingPrediction]


def _aggregated(message: pb.AggregatedNodeMetrics) -> AggregatedNodeMetrics:
    return AggregatedNodeMetrics(
        cpu=list(message.cpu),
        mem=list(message.mem),
        file_size=list(message.file_size),
        duration=list(message.duration),
        node_id=list(message.node_id),
    )


def _law(message: pb.ScalingLawData) -> ScalingLawData:
    return ScalingLawData(coeffs=list(message.coeffs), type=message.type, r2=message.r2)


def _present(values: Sequence[Any | None] | None, what: str) -> list[Any]:
    return [v for v in bounded_list(values, what) if v is not None]


async def _laws_request(
    info: GatewayInfo,
    dry_run_ids: list[str | None] | None,
    nodes: list[NodesAggregatedNodeMetricsInput] | None,
    data_x: list[float | None] | None,
    regression_method: str | None,
    aggregate_method: str | None,
) -> pb.ComputeScalingLawsRequest:
    return pb.ComputeScalingLawsRequest(
        caller=await caller(info),
        dry_run_ids=_present(dry_run_ids, "dryRunIds"),
        aggregate_method=aggregate_method or "",
        nodes=[
            pb.NodesAggregatedNodeMetrics(
                node_name=n.node_name,
                data=pb.AggregatedNodeMetrics(
                    cpu=n.data.cpu,
                    mem=n.data.mem,
                    file_size=n.data.file_size,
                    duration=n.data.duration,
                    node_id=n.data.node_id,
                ),
            )
            for n in bounded_list(nodes, "nodesAggregatedNodeMetrics")
        ],
        data_x=_present(data_x, "data_x"),
        regression_method=regression_method or "",
    )


DataX = Annotated[list[float | None] | None, strawberry.argument(name="data_x")]


async def aggregated_nodes_metrics(
    info: GatewayInfo, dry_run_ids: list[str | None], aggregate_method: str | None
) -> list[NodesAggregatedNodeMetrics | None]:
    found = await rpc(
        gateway(info).metrics.GetAggregatedNodesMetrics,
        pb.GetAggregatedNodesMetricsRequest(
            caller=await caller(info),
            dry_run_ids=_present(dry_run_ids, "dryRunIds"),
            aggregate_method=aggregate_method or "",
        ),
    )
    return [
        NodesAggregatedNodeMetrics(node_name=n.node_name, data=_aggregated(n.data))
        for n in found.nodes
    ]


@strawberry.type
class MetricsMutation:
    @strawberry.mutation(
        description="The same as the query of this name: the original GUI sends it as a mutation."
    )  # type: ignore[untyped-decorator]
    async def get_aggregated_nodes_metrics(
        self, info: GatewayInfo, dry_run_ids: list[str | None], aggregate_method: str | None = None
    ) -> list[NodesAggregatedNodeMetrics | None]:
        return await aggregated_nodes_metrics(info, dry_run_ids, aggregate_method)


@strawberry.type
class MetricsQuery:
    @strawberry.field(
        description="Each step's CPU, memory, input size and duration in each dry run."
    )  # type: ignore[untyped-decorator]
    async def get_aggregated_nodes_metrics(
        self, info: GatewayInfo, dry_run_ids: list[str | None], aggregate_method: str | None = None
    ) -> list[NodesAggregatedNodeMetrics | None]:
        return await aggregated_nodes_metrics(info, dry_run_ids, aggregate_method)

    @strawberry.field(
        description="Least-squares fits of each step's cpu, mem and duration against data_x."
    )  # type: ignore[untyped-decorator]
    async def compute_scaling_laws_from_nodes_metrics(
        self,
        info: GatewayInfo,
        dry_run_ids: list[str | None] | None = None,
        nodes_aggregated_node_metrics: list[NodesAggregatedNodeMetricsInput] | None = None,
        data_x: DataX = None,
        regression_method: str | None = None,
        aggregate_method: str | None = None,
    ) -> list[NodesScalingLaws | None]:
        request = await _laws_request(
            info, dry_run_ids, nodes_aggregated_node_metrics, data_x,
            regression_method, aggregate_method,
        )  # fmt: skip
        found = await rpc(gateway(info).metrics.ComputeScalingLaws, request)
        return [
            NodesScalingLaws(
                node_name=n.node_name,
                cpu=_law(n.cpu),
                mem=_law(n.mem),
                duration=_law(n.duration),
                data=_aggregated(n.data),
            )
            for n in found.nodes
        ]

    @strawberry.field(
        description="Each step's and the total cpu, mem and duration at a new input size."
    )  # type: ignore[untyped-decorator]
    async def predict_scaling(
        self,
        info: GatewayInfo,
        data_x: Annotated[list[float | None], strawberry.argument(name="data_x")],
        data_x_to_predict: Annotated[float, strawberry.argument(name="data_x_to_predict")],
        dry_run_ids: list[str | None] | None = None,
        nodes_aggregated_node_metrics: list[NodesAggregatedNodeMetricsInput] | None = None,
        regression_method: str | None = None,
        aggregate_method: str | None = None,
    ) -> ScalingPredictions:
        laws = await _laws_request(
            info, dry_run_ids, nodes_aggregated_node_metrics, data_x,
            regression_method, aggregate_method,
        )  # fmt: skip
        found = await rpc(
            gateway(info).metrics.PredictScaling,
            pb.PredictScalingRequest(laws=laws, data_x_to_predict=data_x_to_predict),
        )
        total = found.total
        return ScalingPredictions(
            cpu=total.cpu,
            mem=total.mem,
            duration=total.duration,
            steps=[
                NodeScalingPrediction(
                    node_name=n.node_name,
                    cpu=n.prediction.cpu,
                    mem=n.prediction.mem,
                    duration=n.prediction.duration,
                )
                for n in found.nodes
            ],
        )
