"""The gateway's executor (simpipe_gateway.executor) answers exactly what
graphql-core's normal path answers: the same schema run with strawberry's
default executor is the reference."""

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor
from strawberry.schema.config import StrawberryConfig

from simpipe.v1 import dry_runs_pb2
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_gateway import schema as gateway_schema
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.dry_run_api import Subscription
from simpipe_gateway.errors import graphql_error
from simpipe_gateway.executor import GatewayExecutor
from simpipe_gateway.metrics_api import METRICS_SCALARS, SERIES_METRICS, MetricsLoaders
from simpipe_gateway.types import DOCUMENT_SCALARS, DryRunNodeMisc, DryRunNodePod

fast = gateway_schema.build_schema(GatewaySettings())
# The same types, executed by strawberry's own executor.
plain = strawberry.Schema(
    query=gateway_schema.Query,
    mutation=gateway_schema.Mutation,
    subscription=Subscription,
    extensions=[MetricsLoaders],
    types=[DryRunNodePod, DryRunNodeMisc],
    config=StrawberryConfig(scalar_map={**DOCUMENT_SCALARS, **METRICS_SCALARS}),
)
STEPS = 3


class Collector:
    """A run of STEPS pods; each series holds samples derived from its
    (step, metric, range), "NaN" and "+Inf" among them."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.requests: list[pb.GetStepSeriesRequest] = []
        self.summaries: list[pb.DryRunMetricsRef] = []
        self.failure = failure

    async def GetDryRun(self, request: Any, **options: Any) -> dry_runs_pb2.DryRun:  # noqa: N802
        nodes = [dry_runs_pb2.DryRunNode(id="r", type="Steps", children=["r-0", "r-1", "r-2"])]
        nodes += [
            dry_runs_pb2.DryRunNode(id=f"r-{i}", type="Pod", pod_name=f"p-{i}")
            for i in range(STEPS)
        ]
        return dry_runs_pb2.DryRun(id="r", nodes=nodes)

    async def GetRunSummary(self, request: pb.DryRunMetricsRef, **options: Any) -> pb.RunSummary:  # noqa: N802
        self.summaries.append(request)
        steps = [
            pb.StepSummary(node_id=f"r-{i}", summary=pb.MetricsSummary(cpu_seconds=float(i)))
            for i in range(STEPS)
        ]
        return pb.RunSummary(run=pb.MetricsSummary(cpu_seconds=3.0), steps=steps)

    async def GetStepSeries(  # noqa: N802
        self, request: pb.GetStepSeriesRequest, **options: Any
    ) -> pb.GetStepSeriesResponse:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        series = []
        for node in request.node_ids:
            for metric in request.metrics:
                if metric == "threadsMax":
                    continue  # a series Prometheus does not have
                base = request.start.seconds + request.step_seconds + len(metric) + int(node[-1])
                series.append(
                    pb.StepSeries(
                        node_id=node,
                        metric=metric,
                        timestamps=[base + 0.5, base + 1.0, base + 2.0],
                        values=[str(len(metric)), "NaN", "+Inf"],
                    )
                )
        return pb.GetStepSeriesResponse(series=series)


def context(collector: Collector) -> dict[str, Any]:
    gateway = SimpleNamespace(watcher=collector, metrics=collector)
    return {"gateway": gateway, "caller": Caller("someone")}


async def both(
    query: str, variables: dict[str, Any] | None = None, failure: Exception | None = None
) -> tuple[Any, Collector]:
    """The fast executor's answer (data and errors), checked against the plain one."""
    answers = []
    collectors = []
    for schema in (fast, plain):
        collector = Collector(failure)
        result = await schema.execute(
            query, variable_values=variables, context_value=context(collector)
        )
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
        answers.append((result.data, errors))
        collectors.append(collector)
    assert answers[0] == answers[1]
    return answers[0], collectors[0]


@pytest.fixture
def normal_lists() -> Iterator[list[str]]:
    """The list fields graphql-core's normal path completed for the gateway's executor."""
    seen: list[str] = []
    original = Executor.complete_list_value

    def counting(self: Executor[Any], return_type: Any, details: Any, info: Any, *rest: Any) -> Any:
        if isinstance(self, GatewayExecutor):
            seen.append(f"{info.parent_type.name}.{info.field_name}")
        return original(self, return_type, details, info, *rest)

    Executor.complete_list_value = counting  # type: ignore[method-assign, assignment]
    try:
        yield seen
    finally:
        Executor.complete_list_value = original  # type: ignore[method-assign]


def pods(query: str, variables: str = "") -> str:
    return f'query{variables} {{ dryRun(dryRunId: "r") {{ nodes {{ ... on DryRunNodePod {{ id metrics {{ {query} }} }} }} }} }}'


VARIABLES = {"s": 1_700_000_000, "skip": True, "inc": False}
DEFINITIONS = "($s: TimeStamp, $skip: Boolean!, $inc: Boolean!)"


async def test_every_series_of_every_step_in_one_collector_call(normal_lists: list[str]) -> None:
    fields = " ".join(f"{m} {{ timestamp value }}" for m in sorted(SERIES_METRICS))
    (data, errors), collector = await both(pods(fields))
    assert errors == []
    steps = [n for n in data["dryRun"]["nodes"] if n]
    assert len(steps) == STEPS
    assert len(steps[0]["metrics"]) == len(SERIES_METRICS) == 43
    assert steps[1]["metrics"]["threadsMax"] == []
    assert [s["value"] for s in steps[2]["metrics"]["memoryRss"]] == ["9", "NaN", "+Inf"]
    assert len(collector.requests) == 1
    assert set(collector.requests[0].node_ids) == {"r-0", "r-1", "r-2"}
    assert set(collector.requests[0].metrics) == SERIES_METRICS
    # The samples took the flat path: graphql-core completed only the nodes.
    assert [n for n in normal_lists if n.startswith("DryRunNodeMetrics.")] == []


async def test_aliases_fragments_skip_include_typename_and_arguments(
    normal_lists: list[str],
) -> None:
    query = pods(
        """
        cpu: cpuUsageSecondsTotal(start: $s, step: 5) { t: timestamp ...V __typename }
        cpuUsageSecondsTotal { value timestamp value }
        late: cpuUsageSecondsTotal(start: "2023-11-14T22:13:20Z", step: 5) { ... on PrometheusSample { timestamp } }
        memoryRss { timestamp @skip(if: $skip) value @include(if: $inc) kind: __typename }
        sockets @skip(if: $skip) { value }
        threads @include(if: $skip) { value @include(if: $skip) ...V @skip(if: $skip) }
        __typename
        """,
        DEFINITIONS,
    ).replace("} } } } }", "} } } } } fragment V on PrometheusSample { value v2: value }")
    (data, errors), collector = await both(query, VARIABLES)
    assert errors == []
    metrics = data["dryRun"]["nodes"][1]["metrics"]
    assert list(metrics) == [
        "cpu", "cpuUsageSecondsTotal", "late", "memoryRss", "threads", "__typename",
    ]  # fmt: skip
    # start + step + len(metric) + the step's number (0), + 0.5
    assert metrics["cpu"][0] == {"t": 1700000025.5, "value": "20", "v2": "20", "__typename": "PrometheusSample"}  # fmt: skip
    assert metrics["late"][0] == {"timestamp": 1700000025.5}
    assert list(metrics["cpuUsageSecondsTotal"][0]) == ["value", "timestamp"]
    assert metrics["memoryRss"][0] == {"kind": "PrometheusSample"}
    assert metrics["threads"][0] == {"value": "7"}
    # One call per range, for all steps.
    assert sorted(r.start.seconds for r in collector.requests) == [0, 1_700_000_000]
    assert [n for n in normal_lists if n.startswith("DryRunNodeMetrics.")] == []


async def test_a_bad_step_and_a_failing_collector_are_reported_per_field() -> None:
    (data, errors), _ = await both(pods("memoryRss(step: 0) { value } sockets { value }"))
    assert data["dryRun"]["nodes"][1]["metrics"] == {"memoryRss": None, "sockets": [{"value": "7"}, {"value": "NaN"}, {"value": "+Inf"}]}  # fmt: skip
    assert {e[0] for e in errors} == {"step must be a positive number of seconds"}
    assert len(errors) == STEPS

    down = graphql_error("the collector is down", "UNAVAILABLE")
    (data, errors), _ = await both(pods("memoryRss { value } sockets { value }"), None, down)
    assert data["dryRun"]["nodes"][1]["metrics"] == {"memoryRss": None, "sockets": None}
    assert {e[0] for e in errors} == {"the collector is down"}
    assert len(errors) == 2 * STEPS


async def test_the_run_summary_is_fetched_once_for_the_run_and_all_its_steps() -> None:
    query = (
        '{ dryRun(dryRunId: "r") { metricsSummary { run { cpuSeconds } }'
        " nodes { ... on DryRunNodePod { id metrics { summary { cpuSeconds } } } } } }"
    )
    (data, errors), collector = await both(query)
    assert errors == []
    assert data["dryRun"]["metricsSummary"] == {"run": {"cpuSeconds": 3.0}}
    steps = [n["metrics"]["summary"]["cpuSeconds"] for n in data["dryRun"]["nodes"] if n]
    assert steps == [0.0, 1.0, 2.0]
    assert [(r.caller, r.dry_run_id) for r in collector.summaries] == [("someone", "r")]


async def test_a_step_missing_from_the_run_summary_has_none() -> None:
    class Partial(Collector):
        async def GetRunSummary(  # noqa: N802
            self, request: pb.DryRunMetricsRef, **options: Any
        ) -> pb.RunSummary:
            steps = [
                pb.StepSummary(node_id=f"r-{i}", summary=pb.MetricsSummary(cpu_seconds=float(i)))
                for i in (2, 0)
            ]
            return pb.RunSummary(steps=steps)

    query = pods("summary { cpuSeconds }")
    for schema in (fast, plain):
        result = await schema.execute(query, context_value=context(Partial()))
        assert result.errors is None
        assert result.data is not None
        steps = [n["metrics"]["summary"] for n in result.data["dryRun"]["nodes"] if n]
        assert steps == [{"cpuSeconds": 0.0}, None, {"cpuSeconds": 2.0}]


# A schema of its own for what the metrics API never returns: nulls, other
# types, fields with resolvers.
@strawberry.type(name="PrometheusSample")
class Sample:
    timestamp: float | None
    value: str
    count: int = 0

    @strawberry.field
    def doubled(self) -> float | None:
        return None if self.timestamp is None else self.timestamp * 2


class Odd:
    """Not a Sample: the normal path decides."""

    timestamp = 1.0
    value = "odd"
    count = 0


@strawberry.type
class SampleQuery:
    @strawberry.field
    def samples(self) -> list[Sample | None]:
        return [Sample(timestamp=1.5, value="a", count=3), None, Sample(timestamp=None, value="b")]

    @strawberry.field
    def required(self) -> list[Sample]:
        return [Sample(timestamp=2.0, value="c"), None]  # type: ignore[list-item]

    @strawberry.field
    def broken(self) -> list[Sample | None]:
        return [Sample(timestamp=1.0, value=None), Sample(timestamp=3.0, value="d")]  # type: ignore[arg-type]

    @strawberry.field
    def foreign(self) -> list[Sample | None]:
        return [Odd(), Sample(timestamp=4.0, value=5)]  # type: ignore[list-item, arg-type]


sample_fast = strawberry.Schema(query=SampleQuery, execution_context_class=GatewayExecutor)
sample_plain = strawberry.Schema(query=SampleQuery)


def answers(query: str) -> Any:
    found = []
    for schema in (sample_fast, sample_plain):
        result = schema.execute_sync(query)
        found.append(
            (result.data, sorted((e.message, tuple(e.path or ())) for e in result.errors or []))
        )
    assert found[0] == found[1]
    return found[0]


def test_nulls_follow_the_types(normal_lists: list[str]) -> None:
    data, errors = answers("{ samples { __typename ts: timestamp value count } }")
    assert errors == []
    assert data["samples"] == [
        {"__typename": "PrometheusSample", "ts": 1.5, "value": "a", "count": 3},
        None,
        {"__typename": "PrometheusSample", "ts": None, "value": "b", "count": 0},
    ]
    assert normal_lists == []

    data, errors = answers("{ required { value } }")
    assert data is None
    assert errors == [
        ("Cannot return null for non-nullable field SampleQuery.required.", ("required", 1))
    ]
    data, errors = answers("{ broken { value } }")
    assert data == {"broken": [None, {"value": "d"}]}
    assert errors == [
        (
            "Cannot return null for non-nullable field PrometheusSample.value.",
            ("broken", 0, "value"),
        )
    ]
    data, errors = answers("{ foreign { value } }")
    # graphql-core completes a look-alike object as a Sample, and coerces 5.
    assert data == {"foreign": [{"value": "odd"}, {"value": "5"}]}
    assert errors == []
    assert normal_lists == ["SampleQuery.required", "SampleQuery.broken", "SampleQuery.foreign"]


def test_a_field_with_a_resolver_takes_the_normal_path(normal_lists: list[str]) -> None:
    data, errors = answers("{ samples { value doubled } }")
    assert errors == []
    assert data["samples"] == [{"value": "a", "doubled": 3.0}, None, {"value": "b", "doubled": None}]  # fmt: skip
    assert normal_lists == ["SampleQuery.samples"]


async def test_operations_sharing_a_context_each_load_afresh() -> None:
    """Over graphql-transport-ws one context serves every operation of the
    connection: a later query sees the collector's answer now, not the first
    query's, and a failure of one query is not the next one's."""

    class Changing(Collector):
        async def GetRunSummary(  # noqa: N802
            self, request: pb.DryRunMetricsRef, **options: Any
        ) -> pb.RunSummary:
            self.summaries.append(request)
            if len(self.summaries) == 2:
                raise graphql_error("the collector is down", "UNAVAILABLE")
            return pb.RunSummary(run=pb.MetricsSummary(cpu_seconds=float(len(self.summaries))))

    collector = Changing()
    shared = context(collector)
    query = '{ dryRun(dryRunId: "r") { metricsSummary { run { cpuSeconds } } } }'
    found = []
    for _ in range(3):
        result = await fast.execute(query, context_value=shared)
        found.append(
            (result.data and result.data["dryRun"], [e.message for e in result.errors or []])
        )
    assert found == [
        ({"metricsSummary": {"run": {"cpuSeconds": 1.0}}}, []),
        (None, ["the collector is down"]),
        ({"metricsSummary": {"run": {"cpuSeconds": 3.0}}}, []),
    ]
    assert len(collector.summaries) == 3


async def test_a_schema_without_metrics_loaders_fails_loudly() -> None:
    """Loaders kept in the context would serve a whole websocket connection."""
    bare = strawberry.Schema(
        query=gateway_schema.Query,
        types=[DryRunNodePod, DryRunNodeMisc],
        config=StrawberryConfig(scalar_map={**DOCUMENT_SCALARS, **METRICS_SCALARS}),
    )
    shared = context(Collector())
    query = '{ dryRun(dryRunId: "r") { metricsSummary { run { cpuSeconds } } } }'
    result = await bare.execute(query, context_value=shared)
    assert [e.message for e in result.errors or []] == [
        "metrics loaders need the MetricsLoaders extension in the schema"
    ]
    assert set(shared) == {"gateway", "caller"}
