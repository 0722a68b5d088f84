"""What the original SIM-PIPE GUI asks for beyond runs, storage and metrics:
a run's node, the carbontracker estimate, the aggregated metrics sent as a
mutation, and the features not run here (VM resources, Moose, k3s)."""

import json
import math
from types import SimpleNamespace
from typing import Any

import pytest

from simpipe.v1 import dry_runs_pb2
from simpipe.v1 import metrics_collector_pb2 as mpb
from simpipe_common.energy import EnergyModel
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_node import run_node_name
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
MODEL = EnergyModel(watts_per_core=20.0, watts_per_gb_memory=0.5, grid_g_co2_per_kwh=400.0)
CARBON = """query($s: [PrometheusSampleInput!]!) {
  fetchCarbontrackerData(input: {data: {dryRun: {node: {metrics: {cpuUsageSecondsTotal: $s}}}}}) {
    duration averagePowerUsage averagePowerUsageUnit energy energyUnit energyUsage co2eq co2eqUnit
    carbonIntensity cpuModel cpuPowerData location
  }
}"""


class Metrics:
    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def GetAggregatedNodesMetrics(  # noqa: N802
        self, request: Any, **options: Any
    ) -> mpb.GetAggregatedNodesMetricsResponse:
        self.asked.append(request)
        data = mpb.AggregatedNodeMetrics(cpu=[1.5], mem=[2.0], duration=[3.0], file_size=[4.0])
        return mpb.GetAggregatedNodesMetricsResponse(
            nodes=[mpb.NodesAggregatedNodeMetrics(node_name="step-a", data=data)]
        )


class Watcher:
    def __init__(self, workflow: str) -> None:
        self.workflow = workflow

    async def GetDryRun(self, request: Any, **options: Any) -> dry_runs_pb2.DryRun:  # noqa: N802
        return dry_runs_pb2.DryRun(id=request.dry_run_id, argo_workflow_json=self.workflow)


async def execute(
    query: str, gateway: Any = None, caller: str | None = "alice", **variables: Any
) -> Any:
    context = {"gateway": gateway or SimpleNamespace(energy=MODEL), "caller": None}
    if caller is not None:
        context["caller"] = Caller(caller)
    return await schema.execute(query, context_value=context, variable_values=variables)


def code_of(result: Any) -> str:
    assert result.errors, result
    code: str = result.errors[0].extensions["code"]
    return code


def samples(*points: tuple[float, str]) -> list[dict[str, Any]]:
    return [{"timestamp": t, "value": v} for t, v in points]


async def test_carbontracker_estimates_a_steps_cpu_time_with_the_power_model() -> None:
    # 6 CPU-seconds in 10 s.
    series = samples((0, "1"), (5, "4"), (10, "7"))
    result = await execute(CARBON, s=series)
    assert result.errors is None, result.errors
    data = result.data["fetchCarbontrackerData"]
    kwh = 6 * 20.0 / 3.6e6
    assert data["duration"] == 10
    assert math.isclose(data["energy"], kwh)
    assert math.isclose(data["energyUsage"], kwh)
    assert math.isclose(data["co2eq"], kwh * 400.0)
    assert math.isclose(data["averagePowerUsage"], 6 * 20.0 / 10)
    assert (data["averagePowerUsageUnit"], data["energyUnit"], data["co2eqUnit"]) == (
        "W",
        "kWh",
        "g",
    )
    assert data["carbonIntensity"] == 400.0
    assert "20 W per busy core" in data["cpuPowerData"]


async def test_a_counter_that_restarts_counts_from_its_new_value() -> None:
    result = await execute(CARBON, s=samples((0, "5"), (1, "8"), (2, "2"), (3, "3")))
    assert result.errors is None, result.errors
    used = (8 - 5) + 2 + (3 - 2)
    assert math.isclose(result.data["fetchCarbontrackerData"]["energy"], used * 20.0 / 3.6e6)


async def test_one_sample_is_no_time_and_no_energy() -> None:
    result = await execute(CARBON, s=samples((7, "3")))
    assert result.errors is None, result.errors
    data = result.data["fetchCarbontrackerData"]
    assert (data["duration"], data["energy"], data["averagePowerUsage"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("series", "said"),
    [
        ([], "holds no samples"),
        (samples((0, "1"), (1, "x")), "[1].value 'x' is not a number"),
        (samples((0, "NaN")), "finite, non-negative"),
        (samples((0, "+Inf")), "finite, non-negative"),
        (samples((0, "-1")), "finite, non-negative"),
        (samples((5, "1"), (4, "2")), "[1] is earlier than the sample before it"),
        (samples(*((float(i), "1") for i in range(11_001))), "at most 11000"),
    ],
)
async def test_bad_samples_are_refused_with_a_typed_error(
    series: list[dict[str, Any]], said: str
) -> None:
    result = await execute(CARBON, s=series)
    assert code_of(result) == "INPUT_VALIDATION_ERROR"
    assert said in result.errors[0].message


async def test_carbontracker_needs_an_authenticated_caller() -> None:
    result = await execute(CARBON, caller=None, s=samples((0, "1")))
    assert code_of(result) == "UNAUTHENTICATED"


async def test_aggregated_metrics_answer_as_a_mutation_too() -> None:
    fields = "nodeName data { cpu mem duration fileSize }"
    metrics = Metrics()
    gateway = SimpleNamespace(metrics=metrics)
    for kind in ("query", "mutation"):
        result = await execute(
            f'{kind} {{ getAggregatedNodesMetrics(dryRunIds: ["r1"]) {{ {fields} }} }}', gateway
        )
        assert result.errors is None, result.errors
        assert result.data["getAggregatedNodesMetrics"] == [
            {
                "nodeName": "step-a",
                "data": {"cpu": [1.5], "mem": [2.0], "duration": [3.0], "fileSize": [4.0]},
            }
        ]
    assert [(r.caller, list(r.dry_run_ids)) for r in metrics.asked] == [("alice", ["r1"])] * 2


async def test_what_is_not_run_here_answers_empty() -> None:
    result = await execute(
        "{ resources { id name } k3sClusterSecret { token serverIp }"
        ' getMooseAnalysis(artifactUrl: "http://x/y") }'
    )
    assert result.errors is None, result.errors
    assert result.data == {"resources": [], "k3sClusterSecret": None, "getMooseAnalysis": None}
    assert code_of(await execute("{ resources { id } }", caller=None)) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("mutation", "code", "said"),
    [
        (
            'createResource(input: {name: "vm", os: "linux", cpus: "2", memory: "4Gi"}) { id }',
            "INPUT_VALIDATION_ERROR",
            "runs no VM resources",
        ),
        ('deleteResource(resourceId: "r1")', "NOT_FOUND_ERROR", "resource 'r1' not found"),
        ('shutdownResource(resourceId: "r1")', "NOT_FOUND_ERROR", "resource 'r1' not found"),
        ('cleanupStaleResource(resourceId: "r1")', "NOT_FOUND_ERROR", "resource 'r1' not found"),
        ('setMooseReport(key: "k", report: "{}")', "INPUT_VALIDATION_ERROR", "no Moose"),
        ('updateK3sClusterSecret(token: "t") { token }', "INPUT_VALIDATION_ERROR", "no VM"),
    ],
)
async def test_what_is_not_run_here_is_refused_by_mutations(
    mutation: str, code: str, said: str
) -> None:
    result = await execute(f"mutation {{ {mutation} }}")
    assert code_of(result) == code
    assert said in result.errors[0].message


def workflow_with(**parts: Any) -> dict[str, Any]:
    return {"metadata": {"name": "run"}, **parts}


def pod(host: str | None, started: str | None, kind: str = "Pod") -> dict[str, Any]:
    node: dict[str, Any] = {"type": kind}
    if host is not None:
        node["hostNodeName"] = host
    if started is not None:
        node["startedAt"] = started
    return node


def required_node(*names: str) -> dict[str, Any]:
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": list(names)}]}
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }
    }


def test_a_runs_node_is_where_its_first_pod_ran() -> None:
    status = {
        "nodes": {
            "run": pod(None, "2026-01-01T00:00:00Z", kind="DAG"),
            "b": pod("node-late", "2026-01-01T00:00:09Z"),
            "a": pod("node-early", "2026-01-01T00:00:01Z"),
            "c": pod(None, "2026-01-01T00:00:00Z"),
        }
    }
    assert run_node_name(workflow_with(status=status, spec=required_node("other"))) == "node-early"


def test_before_a_pod_ran_the_runs_node_is_the_one_it_was_placed_on() -> None:
    assert run_node_name(workflow_with(spec=required_node("node-7"))) == "node-7"
    # Two allowed nodes: no one node to name.
    assert run_node_name(workflow_with(spec=required_node("a", "b"))) is None
    assert run_node_name(workflow_with(spec={})) is None


@pytest.mark.parametrize(
    "odd",
    [
        None,
        [],
        "text",
        {"status": {"nodes": []}},
        {"status": {"nodes": {"a": "pod"}}},
        {"status": {"nodes": {"a": {"type": "Pod", "hostNodeName": 7}}}},
        {"spec": {"affinity": {"nodeAffinity": []}}},
        {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": ["x"]}}}}},
    ],
)  # fmt: skip
def test_an_odd_workflow_document_names_no_node(odd: Any) -> None:
    assert run_node_name(odd) is None


async def test_node_name_is_a_field_of_a_dry_run() -> None:
    status = {"nodes": {"a": pod("node-1", "2026-01-01T00:00:01Z")}}
    watcher = Watcher(json_text(workflow_with(status=status)))
    result = await execute(
        '{ dryRun(dryRunId: "run") { id nodeName } }', SimpleNamespace(watcher=watcher)
    )
    assert result.errors is None, result.errors
    assert result.data == {"dryRun": {"id": "run", "nodeName": "node-1"}}


def json_text(document: dict[str, Any]) -> str:
    return json.dumps(document)
