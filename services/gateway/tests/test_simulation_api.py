"""Virtual clusters and simulations through the gateway's schema, on a fake
kwok-scaler: each RPC answers what the test gave it (a message, or a gRPC
status it fails with) and keeps its requests."""

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from simpipe.v1 import dry_runs_pb2, events_pb2, kwok_scaler_pb2, workflow_submitter_pb2
from simpipe_common.errors import REASON_KEY
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
OWNER = "alice@example.org"


def rpc_error(code: grpc.StatusCode, details: str = "said the scaler") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


class FakeScaler:
    def __init__(self, **answers: Message | grpc.StatusCode) -> None:
        self.answers = answers
        self.requests: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Message]]:
        if not name[:1].isupper():
            raise AttributeError(name)

        async def method(request: Any, **_: Any) -> Message:
            self.requests.append((name, request))
            answer = self.answers.get(name)
            if answer is None:
                raise AssertionError(f"the test gave {name} no answer")
            if isinstance(answer, grpc.StatusCode):
                raise rpc_error(answer)
            return answer

        return method

    def sent(self, name: str) -> Any:
        """The one request `name` was called with."""
        [found] = [r for n, r in self.requests if n == name]
        return found


class FakeWatcher:
    """Knows the dry runs it is given; NOT_FOUND for any other."""

    def __init__(self, *known: str) -> None:
        self.known = known

    async def GetDryRun(self, request: Any, **_: Any) -> dry_runs_pb2.DryRun:  # noqa: N802
        if request.dry_run_id not in self.known:
            raise rpc_error(grpc.StatusCode.NOT_FOUND)
        return dry_runs_pb2.DryRun(id=request.dry_run_id)


class Authenticated:
    def __init__(self) -> None:
        self.valid = True

    def still_valid(self, caller: Caller) -> bool:
        return self.valid


def context(scaler: FakeScaler, **others: Any) -> dict[str, Any]:
    gateway = SimpleNamespace(scaler=scaler, authenticator=Authenticated(), **others)
    return {"gateway": gateway, "caller": Caller(OWNER)}


async def ask(
    scaler: FakeScaler, query: str, variables: dict[str, Any] | None = None, **others: Any
) -> tuple[Any, list[dict[str, Any]]]:
    """The data and the errors (message and extensions) of one operation."""
    result = await schema.execute(
        query, variable_values=variables, context_value=context(scaler, **others)
    )
    errors = [{"message": e.message, **(e.extensions or {})} for e in result.errors or []]
    return result.data, errors


pb = kwok_scaler_pb2

POOL = pb.NodePool(
    name="small", count=4, cpu="1", memory="2Gi", pods=1, labels={"zone": "a"},
    taints=[pb.Taint(key="gpu", value="no", effect="NoSchedule")], ready=4,
)  # fmt: skip
CLUSTER = pb.VirtualCluster(id="c1", owner=OWNER, pools=[POOL])
CREATE = """mutation($input: CreateVirtualClusterInput!) {
  createVirtualCluster(input: $input) {
    id createdAt pools { name count cpu memory pods ready labels { key value } taints { key value effect } }
  }
}"""


def pool_input(**changes: Any) -> dict[str, Any]:
    return {"name": "small", "count": 4, "cpu": "1", "memory": "2Gi", "pods": 1, **changes}


# --- virtual clusters ---


async def test_create_virtual_cluster_sends_the_pools_and_answers_the_cluster() -> None:
    scaler = FakeScaler(CreateVirtualCluster=CLUSTER)
    pool = pool_input(
        labels=[{"key": "zone", "value": "a"}],
        taints=[{"key": "gpu", "value": "no", "effect": "NoSchedule"}],
    )
    data, errors = await ask(scaler, CREATE, {"input": {"id": "c1", "pools": [pool]}})
    assert errors == []
    sent = scaler.sent("CreateVirtualCluster")
    assert (sent.caller, sent.id) == (OWNER, "c1")
    assert list(sent.pools) == [pb.NodePool(**{f.name: getattr(POOL, f.name) for f in pb.NodePool.DESCRIPTOR.fields if f.name != "ready"})]  # fmt: skip
    assert data["createVirtualCluster"] == {
        "id": "c1",
        "createdAt": None,
        "pools": [
            {
                "name": "small", "count": 4, "cpu": "1", "memory": "2Gi", "pods": 1, "ready": 4,
                "labels": [{"key": "zone", "value": "a"}],
                "taints": [{"key": "gpu", "value": "no", "effect": "NoSchedule"}],
            }
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("pool", "said"),
    [
        (pool_input(count=-1), "count must not be negative"),
        (pool_input(pods=-3), "pods must not be negative"),
        (pool_input(labels=[{"key": f"k{i}", "value": ""} for i in range(65)]), "labels holds 65"),
    ],
)
async def test_a_pool_that_can_never_be_right_is_refused_before_the_scaler(
    pool: dict[str, Any], said: str
) -> None:
    scaler = FakeScaler(CreateVirtualCluster=CLUSTER)
    data, errors = await ask(scaler, CREATE, {"input": {"pools": [pool]}})
    assert data is None
    [error] = errors
    assert error["code"] == "INPUT_VALIDATION_ERROR"
    assert said in error["message"]
    assert scaler.requests == []


@pytest.mark.parametrize("count", [0, 1_000_000_000])
async def test_a_pool_size_the_scaler_refuses_is_an_input_validation_error(count: int) -> None:
    """0 and 10^9 are the scaler's to judge (its node limit): its
    INVALID_ARGUMENT comes back typed, with its words."""
    scaler = FakeScaler(CreateVirtualCluster=grpc.StatusCode.INVALID_ARGUMENT)
    _data, errors = await ask(scaler, CREATE, {"input": {"pools": [pool_input(count=count)]}})
    assert scaler.sent("CreateVirtualCluster").pools[0].count == count
    assert errors == [{"message": "said the scaler", "code": "INPUT_VALIDATION_ERROR"}]


async def test_a_count_that_is_no_graphql_int_is_refused_by_graphql() -> None:
    scaler = FakeScaler(CreateVirtualCluster=CLUSTER)
    _, errors = await ask(scaler, CREATE, {"input": {"pools": [pool_input(count=10**12)]}})
    [error] = errors
    assert (error["code"], "32-bit" in error["message"]) == ("INPUT_VALIDATION_ERROR", True)
    _, errors = await ask(
        scaler,
        'mutation { resizeVirtualCluster(id: "c1", counts: [{pool: "a", count: 1e9}]) { id } }',
    )
    assert [e["code"] for e in errors] == ["GRAPHQL_VALIDATION_FAILED"]
    assert scaler.requests == []


async def test_deleting_a_cluster_in_use_is_a_conflict() -> None:
    in_use = grpc.aio.AioRpcError(
        grpc.StatusCode.FAILED_PRECONDITION, grpc.aio.Metadata(),
        grpc.aio.Metadata((REASON_KEY, "virtual-cluster-in-use")), "in use by unfinished runs (s1-0)",
    )  # fmt: skip

    class InUse(FakeScaler):
        async def DeleteVirtualCluster(self, request: Any, **_: Any) -> Message:  # noqa: N802
            raise in_use

    _, errors = await ask(InUse(), 'mutation { deleteVirtualCluster(id: "c1") }')
    assert errors == [{"message": "in use by unfinished runs (s1-0)", "code": "CONFLICT_ERROR"}]


async def test_an_unknown_taint_effect_is_refused_by_the_schema() -> None:
    scaler = FakeScaler(CreateVirtualCluster=CLUSTER)
    pool = pool_input(taints=[{"key": "k", "value": "v", "effect": "Sometimes"}])
    _, errors = await ask(scaler, CREATE, {"input": {"pools": [pool]}})
    assert errors
    assert "Sometimes" in errors[0]["message"]
    assert scaler.requests == []


async def test_virtual_clusters_lists_and_virtual_cluster_gets_the_callers() -> None:
    scaler = FakeScaler(
        ListVirtualClusters=pb.ListVirtualClustersResponse(clusters=[CLUSTER]),
        GetVirtualCluster=CLUSTER,
    )
    data, errors = await ask(
        scaler, '{ virtualClusters { id } virtualCluster(id: "c1") { id pools { name } } }'
    )
    assert errors == []
    assert data == {
        "virtualClusters": [{"id": "c1"}],
        "virtualCluster": {"id": "c1", "pools": [{"name": "small"}]},
    }
    assert scaler.sent("ListVirtualClusters").caller == OWNER
    assert (scaler.sent("GetVirtualCluster").caller, scaler.sent("GetVirtualCluster").id) == (
        OWNER, "c1",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (grpc.StatusCode.NOT_FOUND, "NOT_FOUND_ERROR"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INPUT_VALIDATION_ERROR"),
        (grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        (grpc.StatusCode.ALREADY_EXISTS, "CONFLICT_ERROR"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "SERVICE_UNAVAILABLE"),
    ],
)
async def test_the_scalers_failures_are_typed_graphql_errors(
    status: grpc.StatusCode, code: str
) -> None:
    scaler = FakeScaler(GetVirtualCluster=status, GetSimulation=status)
    for query in ('{ virtualCluster(id: "c1") { id } }', '{ simulation(id: "s1") { id } }'):
        data, errors = await ask(scaler, query)
        assert data is None
        assert [e["code"] for e in errors] == [code]
        if status == grpc.StatusCode.UNAVAILABLE:
            # gRPC's own words (addresses) stay in the gateway's log.
            assert "said the scaler" not in errors[0]["message"]


async def test_resize_sends_the_counts_and_delete_the_id() -> None:
    scaler = FakeScaler(
        ResizeVirtualCluster=CLUSTER,
        DeleteVirtualCluster=pb.DeleteVirtualClusterResponse(deleted=True),
    )
    data, errors = await ask(
        scaler,
        'mutation { resizeVirtualCluster(id: "c1", counts: [{pool: "small", count: 0}]) { id }'
        ' deleteVirtualCluster(id: "c1") }',
    )
    assert errors == []
    assert data == {"resizeVirtualCluster": {"id": "c1"}, "deleteVirtualCluster": True}
    resize = scaler.sent("ResizeVirtualCluster")
    assert (resize.caller, resize.id, dict(resize.counts)) == (OWNER, "c1", {"small": 0})
    assert scaler.sent("DeleteVirtualCluster").id == "c1"


@pytest.mark.parametrize(
    "counts",
    ['[{pool: "small", count: -2}]', '[{pool: "small", count: 1}, {pool: "small", count: 2}]'],
)
async def test_a_resize_that_can_never_be_right_is_refused_before_the_scaler(counts: str) -> None:
    scaler = FakeScaler(ResizeVirtualCluster=CLUSTER)
    _, errors = await ask(
        scaler, f'mutation {{ resizeVirtualCluster(id: "c1", counts: {counts}) {{ id }} }}'
    )
    assert [e["code"] for e in errors] == ["INPUT_VALIDATION_ERROR"]
    assert scaler.requests == []


# --- simulations ---

SPEC = pb.StartSimulationRequest(
    simulation_id="s1", project_id="p", workflow_template_name="pipeline",
    parameters={"size": "4"}, virtual_cluster_id="c1", pool="small",
    timing=pb.TimingSource(reference_dry_run_id="ref", duration_factor=4), copies=2,
    spacing_seconds=5, time_scale=10,
)  # fmt: skip
SIMULATION = pb.Simulation(
    id="s1", project_id="p", owner=OWNER, phase=events_pb2.SIMULATION_PHASE_RUNNING, spec=SPEC,
    dry_run_ids=["s1-0", "s1-1"],
    progress=pb.SimulationProgress(simulated_seconds=12.5, steps_done=3, steps_total=8, pods_pending=1),
)  # fmt: skip
ENDED = pb.Simulation(
    id="s1", project_id="p", owner=OWNER, phase=events_pb2.SIMULATION_PHASE_FAILED,
    message="step big could never be scheduled", spec=SPEC,
)  # fmt: skip
REPORT = pb.SimulationReport(
    simulation_id="s1", phase=events_pb2.SIMULATION_PHASE_SUCCEEDED, makespan_seconds=100.0,
    orchestration_overhead_seconds=1.5,
    steps=[pb.SimulatedStep(
        copy=1, dry_run_id="s1-1", node_id="n", display_name="a", template_name="t",
        node_name="vc-x", pool="small", queued_seconds=20, run_seconds=20, started_seconds=20,
        finished_seconds=40, phase="Succeeded", cpu_cores=0.5, memory_bytes=1e6,
    )],
    pools=[pb.PoolUtilisation(pool="small", times=[0, 1], cpu=[1, 0.5], memory=[0.1, 0.1], mean_cpu=0.75, peak_cpu=1)],
    peak_pods_pending=16,
    unschedulable=[pb.UnschedulableStep(dry_run_id="s1-0", display_name="big", reason="0/4 nodes")],
    energy_kwh=0.01, carbon_g_co2=4, time_scale=10, json_url="https://s3/r.json",
    parquet_url="https://s3/r.parquet",
)  # fmt: skip
START = """mutation($input: StartSimulationInput!) {
  startSimulation(input: $input) {
    id projectId phase message dryRunIds
    progress { simulatedSeconds stepsDone stepsTotal podsPending copiesDone }
    spec {
      workflowTemplateName parameters { name value } virtualClusterId pool copies spacingSeconds timeScale
      timing { referenceDryRunId durationFactor scaling { dryRunIds } explicit { step } }
    }
  }
}"""


def start_input(**changes: Any) -> dict[str, Any]:
    return {
        "simulationId": "s1", "projectId": "p", "workflowTemplateName": "pipeline",
        "parameters": [{"name": "size", "value": "4"}], "virtualClusterId": "c1", "pool": "small",
        "timing": {"referenceDryRunId": "ref", "durationFactor": 4.0}, "copies": 2,
        "spacingSeconds": 5.0, "timeScale": 10.0, **changes,
    }  # fmt: skip


async def test_start_simulation_sends_the_spec_and_answers_the_simulation() -> None:
    scaler = FakeScaler(StartSimulation=SIMULATION)
    data, errors = await ask(scaler, START, {"input": start_input()})
    assert errors == []
    expected = pb.StartSimulationRequest()
    expected.CopyFrom(SPEC)
    expected.caller = OWNER
    assert scaler.sent("StartSimulation") == expected
    assert data["startSimulation"] == {
        "id": "s1", "projectId": "p", "phase": "Running", "message": None,
        "dryRunIds": ["s1-0", "s1-1"],
        "progress": {"simulatedSeconds": 12.5, "stepsDone": 3, "stepsTotal": 8, "podsPending": 1, "copiesDone": 0},
        "spec": {
            "workflowTemplateName": "pipeline", "parameters": [{"name": "size", "value": "4"}],
            "virtualClusterId": "c1", "pool": "small", "copies": 2, "spacingSeconds": 5.0,
            "timeScale": 10.0,
            "timing": {"referenceDryRunId": "ref", "durationFactor": 4.0, "scaling": None, "explicit": None},
        },
    }  # fmt: skip


async def test_a_scaling_law_and_explicit_figures_reach_the_scaler() -> None:
    scaler = FakeScaler(StartSimulation=SIMULATION)
    scaling = {"dryRunIds": ["a", "b"], "inputSizeBytes": 4e9, "regressionMethod": "power"}
    _, errors = await ask(scaler, START, {"input": start_input(timing={"scaling": scaling})})
    assert errors == []
    timing = scaler.sent("StartSimulation").timing
    assert timing.WhichOneof("source") == "scaling"
    assert (list(timing.scaling.dry_run_ids), timing.scaling.input_size_bytes) == (["a", "b"], 4e9)
    assert timing.scaling.regression_method == "power"

    scaler = FakeScaler(StartSimulation=SIMULATION)
    figures = {
        "step": "t", "seconds": 20.0, "cpuCores": 0.5, "memoryBytes": 1e6, "exitCode": 3,
        "outputParameters": [{"name": "n", "value": "7"}], "fsWriteBytesPerSecond": 10.0,
    }  # fmt: skip
    _, errors = await ask(scaler, START, {"input": start_input(timing={"explicit": [figures]})})
    assert errors == []
    [step] = scaler.sent("StartSimulation").timing.explicit.steps
    assert step == pb.StepFigures(
        step="t", seconds=20, cpu_cores=0.5, memory_bytes=1e6, exit_code=3,
        output_parameters={"n": "7"}, fs_write_bytes_per_second=10,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"timing": {}}, "exactly one of"),
        ({"timing": {"referenceDryRunId": "r", "explicit": []}}, "exactly one of"),
        ({"timing": {"explicit": [{"step": "", "seconds": 1.0}]}}, "template name"),
        ({"timing": {"explicit": [{"step": "t", "seconds": -1.0}]}}, "seconds must not be negative"),
        ({"timing": {"explicit": [{"step": "t", "seconds": 1.0, "cpuCores": -0.5}]}}, "cpuCores"),
        (
            {"timing": {"explicit": [{"step": "t", "seconds": 1.0}, {"step": "t", "seconds": 2.0}]}},
            "names a step twice",
        ),
        ({"timing": {"referenceDryRunId": "r", "durationFactor": -4.0}}, "durationFactor"),
        ({"timing": {"scaling": {"dryRunIds": ["a"], "inputSizeBytes": -1.0}}}, "inputSizeBytes"),
        ({"timing": {"scaling": {"dryRunIds": ["a"] * 1001, "inputSizeBytes": 1.0}}}, "1001 items"),
        ({"copies": -1}, "copies"),
        ({"spacingSeconds": -1.0}, "spacingSeconds"),
        ({"timeScale": -10.0}, "timeScale"),
        ({"parameters": [{"name": str(i), "value": ""} for i in range(1001)]}, "parameters"),
    ],
)  # fmt: skip
async def test_malformed_simulation_input_is_refused_before_the_scaler(
    changes: dict[str, Any], said: str
) -> None:
    scaler = FakeScaler(StartSimulation=SIMULATION)
    data, errors = await ask(scaler, START, {"input": start_input(**changes)})
    assert data is None
    [error] = errors
    assert (error["code"], said in error["message"]) == ("INPUT_VALIDATION_ERROR", True), error
    assert scaler.requests == []


async def test_figures_that_are_not_numbers_are_refused_by_the_schema() -> None:
    scaler = FakeScaler(StartSimulation=SIMULATION)
    timing = {"explicit": [{"step": "t", "seconds": "twenty"}]}
    _, errors = await ask(scaler, START, {"input": start_input(timing=timing)})
    assert errors
    # Where and what, without quoting the value (error_reporting says why).
    assert ".timing.explicit[0].seconds: Float cannot represent" in errors[0]["message"]
    assert scaler.requests == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        # A time scale above the scaler's limit, an unknown template or cluster.
        (grpc.StatusCode.INVALID_ARGUMENT, "INPUT_VALIDATION_ERROR"),
        # A failure the scaler gave no reason for is the gateway's to log.
        (grpc.StatusCode.FAILED_PRECONDITION, "INTERNAL_SERVER_ERROR"),
        (grpc.StatusCode.NOT_FOUND, "NOT_FOUND_ERROR"),
        (grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE"),
    ],
)
async def test_a_start_the_scaler_refuses_is_its_typed_error(
    status: grpc.StatusCode, code: str
) -> None:
    """The gateway sets no ceiling on the time scale: the scaler's limit (three
    metric scrapes per step) depends on the figures, so its refusal is the answer."""
    scaler = FakeScaler(StartSimulation=status)
    data, errors = await ask(scaler, START, {"input": start_input(timeScale=1e6)})
    assert scaler.sent("StartSimulation").time_scale == 1e6
    assert data is None
    assert [e["code"] for e in errors] == [code]


async def test_simulations_simulation_and_its_dry_runs_and_report() -> None:
    scaler = FakeScaler(
        ListSimulations=pb.ListSimulationsResponse(simulations=[SIMULATION]),
        GetSimulation=SIMULATION,
        GetSimulationReport=REPORT,
    )
    query = """{
      simulations(projectId: "p") { id phase }
      simulation(id: "s1") {
        id dryRuns { id }
        report { makespanSeconds phase url parquetUrl peakPodsPending energyKwh carbonGCo2 timeScale
                 orchestrationOverheadSeconds
                 steps { copy dryRunId nodeName pool queuedSeconds runSeconds phase }
                 pools { pool times cpu meanCpu peakCpu }
                 unschedulable { dryRunId displayName reason } }
      }
    }"""
    # The second copy's run does not exist yet: it is left out, not an error.
    data, errors = await ask(scaler, query, watcher=FakeWatcher("s1-0"))
    assert errors == []
    assert data["simulations"] == [{"id": "s1", "phase": "Running"}]
    assert scaler.sent("ListSimulations").project_id == "p"
    simulation = data["simulation"]
    assert simulation["dryRuns"] == [{"id": "s1-0"}]
    assert simulation["report"] == {
        "makespanSeconds": 100.0, "phase": "Succeeded", "url": "https://s3/r.json",
        "parquetUrl": "https://s3/r.parquet", "peakPodsPending": 16, "energyKwh": 0.01,
        "carbonGCo2": 4.0, "timeScale": 10.0, "orchestrationOverheadSeconds": 1.5,
        "steps": [{"copy": 1, "dryRunId": "s1-1", "nodeName": "vc-x", "pool": "small",
                   "queuedSeconds": 20.0, "runSeconds": 20.0, "phase": "Succeeded"}],
        "pools": [{"pool": "small", "times": [0.0, 1.0], "cpu": [1.0, 0.5], "meanCpu": 0.75, "peakCpu": 1.0}],
        "unschedulable": [{"dryRunId": "s1-0", "displayName": "big", "reason": "0/4 nodes"}],
    }  # fmt: skip


async def test_a_report_not_written_yet_is_null() -> None:
    scaler = FakeScaler(GetSimulationReport=grpc.StatusCode.NOT_FOUND)
    data, errors = await ask(scaler, '{ simulationReport(id: "s1") { makespanSeconds } }')
    assert (data, errors) == ({"simulationReport": None}, [])


async def test_cancel_and_delete_simulation() -> None:
    scaler = FakeScaler(
        CancelSimulation=ENDED, DeleteSimulation=pb.DeleteSimulationResponse(deleted=True)
    )
    data, errors = await ask(
        scaler,
        'mutation { cancelSimulation(id: "s1") { phase message } deleteSimulation(id: "s1") }',
    )
    assert errors == []
    assert data == {
        "cancelSimulation": {"phase": "Failed", "message": "step big could never be scheduled"},
        "deleteSimulation": True,
    }
    assert [(n, r.caller, r.id) for n, r in scaler.requests] == [
        ("CancelSimulation", OWNER, "s1"), ("DeleteSimulation", OWNER, "s1"),
    ]  # fmt: skip


COMPARISON = pb.SimulationComparison(
    a="s1", b="ref", makespan_seconds_a=100, makespan_seconds_b=95,
    steps=[pb.StepComparison(step="t", run_seconds_a=20, run_seconds_b=19, queued_seconds_a=5)],
    energy_kwh_a=0.01, energy_kwh_b=0.009,
)  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "other"),
    [('b: "s2"', ("other_simulation_id", "s2")), ('referenceDryRunId: "ref"', ("reference_dry_run_id", "ref"))],
)  # fmt: skip
async def test_compare_simulations_with_a_simulation_or_a_dry_run(
    arguments: str, other: tuple[str, str]
) -> None:
    scaler = FakeScaler(CompareSimulations=COMPARISON)
    data, errors = await ask(
        scaler,
        f'{{ compareSimulations(a: "s1", {arguments}) {{ a b makespanSecondsA makespanSecondsB'
        " energyKwhA energyKwhB steps { step runSecondsA runSecondsB queuedSecondsA queuedSecondsB } } }",
    )
    assert errors == []
    sent = scaler.sent("CompareSimulations")
    assert (sent.caller, sent.simulation_id, sent.WhichOneof("other")) == (OWNER, "s1", other[0])
    assert getattr(sent, other[0]) == other[1]
    assert data["compareSimulations"] == {
        "a": "s1", "b": "ref", "makespanSecondsA": 100.0, "makespanSecondsB": 95.0,
        "energyKwhA": 0.01, "energyKwhB": 0.009,
        "steps": [{"step": "t", "runSecondsA": 20.0, "runSecondsB": 19.0, "queuedSecondsA": 5.0, "queuedSecondsB": 0.0}],
    }  # fmt: skip


@pytest.mark.parametrize("arguments", ["", 'b: "s2", referenceDryRunId: "ref"'])
async def test_compare_needs_exactly_one_other_side(arguments: str) -> None:
    scaler = FakeScaler(CompareSimulations=COMPARISON)
    _, errors = await ask(scaler, f'{{ compareSimulations(a: "s1" {arguments}) {{ a }} }}')
    assert [e["code"] for e in errors] == ["INPUT_VALIDATION_ERROR"]
    assert scaler.requests == []


# --- a dry run on a virtual cluster's pool ---


class Submitter:
    def __init__(self) -> None:
        self.requests: list[workflow_submitter_pb2.CreateDryRunRequest] = []

    async def CreateDryRun(self, request: Any, **_: Any) -> workflow_submitter_pb2.DryRunRef:  # noqa: N802
        self.requests.append(request)
        return workflow_submitter_pb2.DryRunRef(dry_run_id="new")


async def test_a_dry_run_may_be_placed_on_a_virtual_clusters_pool() -> None:
    submitter = Submitter()
    _, errors = await ask(
        FakeScaler(),
        'mutation { createDryRunFromTemplate(input: {workflowTemplateName: "t",'
        ' placement: VIRTUAL_NODES, virtualCluster: "c1", pool: "small"}) { id } }',
        submitter=submitter,
    )
    assert errors == []
    [request] = submitter.requests
    placement = request.placement
    assert (placement.nodes, placement.virtual_cluster, placement.pool) == (
        workflow_submitter_pb2.NODES_VIRTUAL, "c1", "small",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (
            pb.TimingSource(
                scaling=pb.ScalingLawSource(dry_run_ids=["a", "b"], input_size_bytes=4e9, regression_method="power")
            ),
            {"referenceDryRunId": None, "explicit": None, "durationFactor": 0.0,
             "scaling": {"dryRunIds": ["a", "b"], "inputSizeBytes": 4e9, "regressionMethod": "power"}},
        ),
        (
            pb.TimingSource(
                explicit=pb.ExplicitFigures(steps=[pb.StepFigures(
                    step="t", seconds=20, cpu_cores=0.5, memory_bytes=1e6, exit_code=3,
                    network_receive_bytes_per_second=1, network_transmit_bytes_per_second=2,
                    fs_read_bytes_per_second=3, fs_write_bytes_per_second=4,
                    output_parameters={"b": "2", "a": "1"},
                )]),
                duration_factor=2,
            ),
            {"referenceDryRunId": None, "scaling": None, "durationFactor": 2.0,
             "explicit": [{"step": "t", "seconds": 20.0, "cpuCores": 0.5, "memoryBytes": 1e6,
                           "networkReceiveBytesPerSecond": 1.0, "networkTransmitBytesPerSecond": 2.0,
                           "fsReadBytesPerSecond": 3.0, "fsWriteBytesPerSecond": 4.0, "exitCode": 3,
                           "outputParameters": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}]},
        ),
    ],
)  # fmt: skip
async def test_a_simulations_timing_source_reads_back_as_asked(
    timing: pb.TimingSource, expected: dict[str, Any]
) -> None:
    simulation = pb.Simulation(id="s1", spec=pb.StartSimulationRequest(timing=timing))
    scaler = FakeScaler(GetSimulation=simulation)
    data, errors = await ask(
        scaler,
        """{ simulation(id: "s1") { phase spec { pool timing {
          referenceDryRunId durationFactor scaling { dryRunIds inputSizeBytes regressionMethod }
          explicit { step seconds cpuCores memoryBytes networkReceiveBytesPerSecond
            networkTransmitBytesPerSecond fsReadBytesPerSecond fsWriteBytesPerSecond exitCode
            outputParameters { name value } } } } } }""",
    )
    assert errors == []
    assert data["simulation"] == {"phase": "Unknown", "spec": {"pool": None, "timing": expected}}
