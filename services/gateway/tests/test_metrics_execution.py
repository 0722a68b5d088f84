"""The metrics API executed by the gateway's schema (strawberry's standard
execution) over a fake collector: what comes back, and how many collector
calls it took."""

from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from simpipe.v1 import dry_runs_pb2
from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_gateway import schema as gateway_schema
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.errors import graphql_error
from simpipe_gateway.metrics_api import METRICS_SCALARS, SERIES_METRICS
from simpipe_gateway.types import DOCUMENT_SCALARS, DryRunNodeMisc, DryRunNodePod

schema = gateway_schema.build_schema(GatewaySettings())
STEPS = 3


class Collector:
    """A run of `steps` pods; each series holds samples derived from its
    (step, metric, range), "NaN" and "+Inf" among them (`samples` of them
    when given: ascending timestamps, values that say where they belong)."""

    def __init__(
        self, failure: Exception | None = None, steps: int = STEPS, samples: int | None = None
    ) -> None:
        self.requests: list[pb.GetStepSeriesRequest] = []
        self.summaries: list[pb.DryRunMetricsRef] = []
        self.failure = failure
        self.steps = steps
        self.samples = samples

    async def GetDryRun(self, request: Any, **options: Any) -> dry_runs_pb2.DryRun:  # noqa: N802
        pods = [f"r-{i}" for i in range(self.steps)]
        nodes = [dry_runs_pb2.DryRunNode(id="r", type="Steps", children=pods)]
        nodes += [dry_runs_pb2.DryRunNode(id=p, type="Pod", pod_name=f"p{p}") for p in pods]
        return dry_runs_pb2.DryRun(id="r", nodes=nodes)

    async def GetRunSummary(self, request: pb.DryRunMetricsRef, **options: Any) -> pb.RunSummary:  # noqa: N802
        self.summaries.append(request)
        steps = [
            pb.StepSummary(node_id=f"r-{i}", summary=pb.MetricsSummary(cpu_seconds=float(i)))
            for i in range(self.steps)
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
                if self.samples is not None:
                    times = [1_700_000_000.0 + i for i in range(self.samples)]
                    values = [f"{node}/{metric}/{i}" for i in range(self.samples)]
                else:
                    step = int(node.rsplit("-", 1)[1])
                    base = request.start.seconds + request.step_seconds + len(metric) + step
                    times = [base + 0.5, base + 1.0, base + 2.0]
                    values = [str(len(metric)), "NaN", "+Inf"]
                series.append(
                    pb.StepSeries(node_id=node, metric=metric, timestamps=times, values=values)
                )
        return pb.GetStepSeriesResponse(series=series)


def context(collector: Collector) -> dict[str, Any]:
    gateway = SimpleNamespace(watcher=collector, metrics=collector)
    return {"gateway": gateway, "caller": Caller("someone")}


async def run(
    query: str, variables: dict[str, Any] | None = None, collector: Collector | None = None
) -> tuple[Any, list[tuple[str, tuple[Any, ...]]], Collector]:
    collector = collector or Collector()
    result = await schema.execute(
        query, variable_values=variables, context_value=context(collector)
    )
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors, collector


def pods(query: str, variables: str = "") -> str:
    return f'query{variables} {{ dryRun(dryRunId: "r") {{ nodes {{ ... on DryRunNodePod {{ id metrics {{ {query} }} }} }} }} }}'


VARIABLES = {"s": 1_700_000_000, "skip": True, "inc": False}
DEFINITIONS = "($s: TimeStamp, $skip: Boolean!, $inc: Boolean!)"
EVERY_SERIES = " ".join(f"{m} {{ timestamp value }}" for m in sorted(SERIES_METRICS))


@strawberry.type
class _Query:
    hello: str = "hello"


def test_the_schema_uses_the_standard_execution() -> None:
    """No execution context of the gateway's own: strawberry's, as a schema
    made without one has it."""
    default = strawberry.Schema(query=_Query).execution_context_class
    assert schema.execution_context_class is default


async def test_every_series_of_every_step_in_one_collector_call() -> None:
    data, errors, collector = await run(pods(EVERY_SERIES))
    assert errors == []
    steps = [n for n in data["dryRun"]["nodes"] if n]
    assert len(steps) == STEPS
    assert len(steps[0]["metrics"]) == len(SERIES_METRICS) == 43
    assert steps[1]["metrics"]["threadsMax"] == []
    # len("memoryRss") + the step's number (2), + 0.5
    assert steps[2]["metrics"]["memoryRss"] == [
        {"timestamp": 11.5, "value": "9"},
        {"timestamp": 12.0, "value": "NaN"},
        {"timestamp": 13.0, "value": "+Inf"},
    ]
    assert len(collector.requests) == 1
    assert sorted(collector.requests[0].node_ids) == ["r-0", "r-1", "r-2"]
    assert set(collector.requests[0].metrics) == SERIES_METRICS


async def test_a_100_step_run_comes_back_complete_and_in_order() -> None:
    """Every sample of every series of every step, each in its own place, in
    the collector's order, in the original GUI's shape."""
    collector = Collector(steps=100, samples=15)
    data, errors, _ = await run(pods(EVERY_SERIES), collector=collector)
    assert errors == []
    steps = [n for n in data["dryRun"]["nodes"] if n]
    assert [s["id"] for s in steps] == [f"r-{i}" for i in range(100)]
    for step in steps:
        assert set(step["metrics"]) == SERIES_METRICS
        for metric, samples in step["metrics"].items():
            if metric == "threadsMax":
                assert samples == []
                continue
            assert samples == [
                {"timestamp": 1_700_000_000.0 + i, "value": f"{step['id']}/{metric}/{i}"}
                for i in range(15)
            ]
    assert len(collector.requests) == 1


async def test_aliases_fragments_skip_include_typename_and_arguments() -> None:
    query = pods(
        """
        cpu: cpuUsageSecondsTotal(start: $s, step: 5) { t: timestamp ...V __typename }
        cpuUsageSecondsTotal { value timestamp value }
        late: cpuUsageSecondsTotal(start: "2023-11-14T22:13:20Z", step: 5) { ... on PrometheusSample { timestamp } }
        memoryRss { timestamp @skip(if: $skip) value @include(if: $inc) kind: __typename }
        sockets @skip(if: $skip) { value }
        threads @include(if: $skip) { value @include(if: $skip) ...V @skip(if: $skip) }
        ... on DryRunNodeMetrics { fsUsageBytes { value } }
        ...M
        __typename
        """,
        DEFINITIONS,
    ).replace(
        "} } } } }",
        "} } } } } fragment V on PrometheusSample { value v2: value }"
        " fragment M on DryRunNodeMetrics { processes { value } }",
    )
    data, errors, collector = await run(query, VARIABLES)
    assert errors == []
    metrics = data["dryRun"]["nodes"][1]["metrics"]
    assert list(metrics) == [
        "cpu", "cpuUsageSecondsTotal", "late", "memoryRss", "threads", "fsUsageBytes",
        "processes", "__typename",
    ]  # fmt: skip
    # start + step + len(metric) + the step's number (0), + 0.5
    assert metrics["cpu"][0] == {"t": 1700000025.5, "value": "20", "v2": "20", "__typename": "PrometheusSample"}  # fmt: skip
    assert metrics["late"][0] == {"timestamp": 1700000025.5}
    assert list(metrics["cpuUsageSecondsTotal"][0]) == ["value", "timestamp"]
    assert metrics["memoryRss"][0] == {"kind": "PrometheusSample"}
    assert metrics["threads"][0] == {"value": "7"}
    assert metrics["fsUsageBytes"][0] == {"value": "12"}
    assert metrics["processes"][0] == {"value": "9"}
    # One call per range, for all steps.
    assert sorted(r.start.seconds for r in collector.requests) == [0, 1_700_000_000]
    default_range = next(r for r in collector.requests if not r.start.seconds)
    # Asked without arguments, so loaded with the step (sockets too: skipped
    # fields are not told apart).
    assert set(default_range.metrics) == {
        "cpuUsageSecondsTotal", "memoryRss", "sockets", "threads", "fsUsageBytes", "processes",
    }  # fmt: skip


async def test_explicit_nulls_are_the_default_range() -> None:
    data, errors, collector = await run(pods("memoryRss(start: null, step: null) { value }"))
    assert errors == []
    assert data["dryRun"]["nodes"][1]["metrics"]["memoryRss"][0] == {"value": "9"}
    assert [r.start.seconds for r in collector.requests] == [0]


async def test_two_places_in_one_query_each_get_what_they_ask() -> None:
    """The selection read for one place in a query is not another's."""
    query = (
        '{ a: dryRun(dryRunId: "r") { nodes { ... on DryRunNodePod { metrics { memoryRss { value } } } } }'
        ' b: dryRun(dryRunId: "r") { nodes { ... on DryRunNodePod { metrics { sockets { value } } } } } }'
    )
    data, errors, collector = await run(query)
    assert errors == []
    assert data["a"]["nodes"][1]["metrics"] == {"memoryRss": [{"value": "9"}, {"value": "NaN"}, {"value": "+Inf"}]}  # fmt: skip
    assert data["b"]["nodes"][1]["metrics"] == {"sockets": [{"value": "7"}, {"value": "NaN"}, {"value": "+Inf"}]}  # fmt: skip
    # Both places' steps in one call, each asking its own series.
    assert len(collector.requests) == 1
    assert set(collector.requests[0].metrics) == {"memoryRss", "sockets"}


async def test_a_bad_step_and_a_failing_collector_are_reported_per_field() -> None:
    data, errors, _ = await run(pods("memoryRss(step: 0) { value } sockets { value }"))
    assert data["dryRun"]["nodes"][1]["metrics"] == {"memoryRss": None, "sockets": [{"value": "7"}, {"value": "NaN"}, {"value": "+Inf"}]}  # fmt: skip
    assert {e[0] for e in errors} == {"step must be a positive number of seconds"}
    assert len(errors) == STEPS

    down = graphql_error("the collector is down", "UNAVAILABLE")
    data, errors, _ = await run(
        pods("memoryRss { value } sockets { value }"), collector=Collector(down)
    )
    assert data["dryRun"]["nodes"][1]["metrics"] == {"memoryRss": None, "sockets": None}
    assert {e[0] for e in errors} == {"the collector is down"}
    assert len(errors) == 2 * STEPS


async def test_a_query_without_series_asks_the_collector_for_none() -> None:
    data, errors, collector = await run(pods("__typename"))
    assert errors == []
    assert data["dryRun"]["nodes"][1]["metrics"] == {"__typename": "DryRunNodeMetrics"}
    assert collector.requests == []


async def test_the_run_summary_is_fetched_once_for_the_run_and_all_its_steps() -> None:
    query = (
        '{ dryRun(dryRunId: "r") { metricsSummary { run { cpuSeconds } }'
        " nodes { ... on DryRunNodePod { id metrics { summary { cpuSeconds } } } } } }"
    )
    data, errors, collector = await run(query)
    assert errors == []
    assert data["dryRun"]["metricsSummary"] == {"run": {"cpuSeconds": 3.0}}
    steps = [n["metrics"]["summary"]["cpuSeconds"] for n in data["dryRun"]["nodes"] if n]
    assert steps == [0.0, 1.0, 2.0]
    assert [(r.caller, r.dry_run_id) for r in collector.summaries] == [("someone", "r")]
    assert collector.requests == []


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

    data, errors, _ = await run(pods("summary { cpuSeconds }"), collector=Partial())
    assert errors == []
    steps = [n["metrics"]["summary"] for n in data["dryRun"]["nodes"] if n]
    assert steps == [{"cpuSeconds": 0.0}, None, {"cpuSeconds": 2.0}]


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
        result = await schema.execute(query, context_value=shared)
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
    for query in (
        '{ dryRun(dryRunId: "r") { metricsSummary { run { cpuSeconds } } } }',
        pods("memoryRss { value }"),
    ):
        result = await bare.execute(query, context_value=shared)
        assert {e.message for e in result.errors or []} == {
            "metrics loaders need the MetricsLoaders extension in the schema"
        }
    assert set(shared) == {"gateway", "caller"}


async def test_the_series_table_of_a_100_step_run_is_every_sample_in_one_collector_call() -> None:
    """The compact form: the same samples as the per-sample fields, in order,
    in two columns, for all steps in one collector call."""
    collector = Collector(steps=100, samples=15)
    data, errors, _ = await run(pods("seriesTable"), collector=collector)
    assert errors == []
    steps = [n for n in data["dryRun"]["nodes"] if n]
    assert [s["id"] for s in steps] == [f"r-{i}" for i in range(100)]
    for step in steps:
        table = step["metrics"]["seriesTable"]
        assert set(table) == SERIES_METRICS
        assert table["threadsMax"] == {"timestamps": [], "values": []}
        assert table["memoryRss"] == {
            "timestamps": [1_700_000_000.0 + i for i in range(15)],
            "values": [f"{step['id']}/memoryRss/{i}" for i in range(15)],
        }
    assert len(collector.requests) == 1
    assert set(collector.requests[0].metrics) == SERIES_METRICS


async def test_the_series_table_takes_named_metrics_and_a_range() -> None:
    query = pods(
        'seriesTable(metrics: ["sockets", "memoryRss", "sockets"], start: $s, step: 5)',
        "($s: TimeStamp)",
    )
    data, errors, collector = await run(query, {"s": 1_700_000_000}, collector=Collector())
    assert errors == []
    table = data["dryRun"]["nodes"][1]["metrics"]["seriesTable"]
    assert list(table) == ["sockets", "memoryRss"]
    # start + step + len("sockets") + the step's number (0), + 0.5
    assert table["sockets"] == {
        "timestamps": [1_700_000_012.5, 1_700_000_013.0, 1_700_000_014.0],
        "values": ["7", "NaN", "+Inf"],
    }
    assert len(collector.requests) == 1
    assert collector.requests[0].start.seconds == 1_700_000_000
    assert collector.requests[0].step_seconds == 5


async def test_the_series_table_refuses_unknown_metrics_too_many_names_and_a_bad_step() -> None:
    data, errors, collector = await run(pods('seriesTable(metrics: ["memoryRss", "rm -rf"])'))
    assert data["dryRun"]["nodes"][1]["metrics"] == {"seriesTable": None}
    assert [m for m, _ in errors] == [errors[0][0]] * STEPS
    assert errors[0][0].startswith("unknown metrics 'rm -rf'; the metrics are")
    assert collector.requests == []
    many = ", ".join(['"memoryRss"'] * (len(SERIES_METRICS) + 1))
    _, errors, _ = await run(pods(f"seriesTable(metrics: [{many}])"))
    assert {m for m, _ in errors} == {"metrics holds 44 items; at most 43 are allowed"}
    _, errors, _ = await run(pods("seriesTable(step: -1)"))
    assert {m for m, _ in errors} == {"step must be a positive number of seconds"}
