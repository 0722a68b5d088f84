"""A simulation's step figures: validated explicit figures, a reference
dry run's measured figures (over stand-in services), the time scale's bound,
and what goes to the submitter."""

import json
import math
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import dry_runs_pb2, metrics_collector_pb2
from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import InvalidInputError
from simpipe_kwok_scaler.simulations import figures


def step(name: str = "work", **given: Any) -> pb.StepFigures:
    return pb.StepFigures(step=name, **{"seconds": 10.0, **given})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (step(seconds=-1), "seconds"),
        (step(seconds=math.nan), "seconds"),
        (step(seconds=math.inf), "seconds"),
        (step(cpu_cores=1e6), "cpu_cores"),
        (step(memory_bytes=-1), "memory_bytes"),
        (step(fs_read_bytes_per_second=math.inf), "fs_read"),
        (step(exit_code=300), "exit_code"),
        (step(""), "template name"),
        (step(output_parameters={"no spaces": "1"}), "output parameter"),
        (step(output_parameters={"big": "x" * 200_000}), "bytes"),
    ],
)
def test_malformed_figures_are_refused(bad: pb.StepFigures, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        figures.checked([bad])


def test_a_step_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="twice"):
        figures.checked([step(), step()])


def test_the_time_scale_keeps_every_step_three_scrapes_long() -> None:
    found = figures.checked([step("a", seconds=20.0), step("b", seconds=6.0), step("c", seconds=0)])
    # b: 6 s / (3 x 0.5 s) = 4.
    assert figures.largest_time_scale(found, 0.5) == pytest.approx(4.0)
    figures.check_time_scale(4.0, found, 0.5, 1000.0)
    with pytest.raises(InvalidInputError, match="largest allowed time scale is 4") as error:
        figures.check_time_scale(4.5, found, 0.5, 1000.0)
    assert "'b'" in error.value.message
    for bad in (0.0, -1.0, math.nan, math.inf, 2000.0):
        with pytest.raises(InvalidInputError):
            figures.check_time_scale(bad, found, 0.5, 1000.0)


def test_durations_are_multiplied_by_the_factor_then_divided_by_the_scale_for_the_pods() -> None:
    found = figures.scaled(figures.checked([step(seconds=10.0, cpu_cores=2.0)]), 4.0)
    assert found["work"].seconds == 40.0
    [sent] = figures.for_submission(found, 10.0)
    assert (sent.step, sent.seconds, sent.cpu_cores) == ("work", 4.0, 2.0)
    with pytest.raises(InvalidInputError, match="duration_factor"):
        figures.duration_factor(pb.TimingSource(duration_factor=-2))


class FakeCall:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def __await__(self) -> Any:
        async def answered() -> Any:
            return self.answer

        return answered().__await__()


class Services:
    """The argo-watcher and metrics-collector, answering for one dry run."""

    def __init__(self, run: dry_runs_pb2.DryRun, report: metrics_collector_pb2.RunReport):
        self.run = run
        self.report = report
        self.asked: list[tuple[str, str]] = []

    def GetDryRun(self, request: Any, timeout: float) -> FakeCall:  # noqa: N802 - gRPC's name
        self.asked.append((request.caller, request.dry_run_id))
        return FakeCall(self.run)

    def GetRunReport(self, request: Any, timeout: float) -> FakeCall:  # noqa: N802 - gRPC's name
        self.asked.append((request.caller, request.dry_run_id))
        return FakeCall(self.report)


def node(node_id: str, template: str, second: int, exit_code: str = "0") -> dry_runs_pb2.DryRunNode:
    return dry_runs_pb2.DryRunNode(
        id=node_id, type="Pod", template_name=template, display_name=node_id,
        started_at=Timestamp(seconds=second), exit_code=exit_code,
    )  # fmt: skip


def summary(node_id: str, seconds: float, cpu: float) -> metrics_collector_pb2.StepSummary:
    return metrics_collector_pb2.StepSummary(
        node_id=node_id,
        summary=metrics_collector_pb2.MetricsSummary(
            duration_seconds=seconds, avg_cpu_cores=cpu, max_memory_bytes=100.0,
            network_receive_bytes=seconds * 1000, fs_write_bytes=seconds * 10,
        ),
    )  # fmt: skip


async def test_a_reference_run_gives_each_templates_mean_figures_and_its_outputs() -> None:
    workflow = {
        "status": {
            "nodes": {
                "r-1": {"outputs": {"parameters": [{"name": "count", "value": "7"}]}},
                "r-2": {"outputs": {"parameters": [{"name": "count", "value": "9"}]}},
            }
        }
    }
    run = dry_runs_pb2.DryRun(
        id="r",
        nodes=[node("r-1", "loop", 1), node("r-2", "loop", 2), node("r-3", "end", 3, "2")],
        argo_workflow_json=json.dumps(workflow),
    )
    report = metrics_collector_pb2.RunReport(
        summary=metrics_collector_pb2.RunSummary(
            steps=[summary("r-1", 4.0, 1.0), summary("r-2", 6.0, 3.0), summary("r-3", 2.0, 0.5)]
        )
    )
    services = Services(run, report)
    found = await figures.from_reference(services, services, "alice", "r", 5.0)  # type: ignore[arg-type]
    assert set(found) == {"loop", "end"}
    loop = found["loop"]
    assert (loop.seconds, loop.cpu_cores, loop.memory_bytes) == (5.0, 2.0, 100.0)
    assert loop.network_receive_bytes_per_second == pytest.approx(1000.0)
    assert loop.fs_write_bytes_per_second == pytest.approx(10.0)
    # The first pod's outputs, so branches go as they first went.
    assert dict(loop.output_parameters) == {"count": "7"}
    assert (found["end"].seconds, found["end"].exit_code) == (2.0, 2)
    assert services.asked == [("alice", "r"), ("alice", "r")]


async def test_a_reference_run_without_measured_steps_is_refused() -> None:
    services = Services(dry_runs_pb2.DryRun(id="r"), metrics_collector_pb2.RunReport())
    with pytest.raises(InvalidInputError, match="no measured steps"):
        await figures.from_reference(services, services, "alice", "r", 5.0)  # type: ignore[arg-type]


async def test_a_timing_source_is_needed() -> None:
    with pytest.raises(InvalidInputError, match="needs a source"):
        await figures.resolve(pb.TimingSource(), "alice", None, None, 5.0)  # type: ignore[arg-type]


class ScalingServices(Services):
    """Also the collector's aggregation and prediction."""

    def __init__(self, run: dry_runs_pb2.DryRun, sizes: list[list[float]]) -> None:
        super().__init__(run, metrics_collector_pb2.RunReport())
        self.sizes = sizes
        self.predicted_at: list[tuple[list[float], float]] = []

    def GetAggregatedNodesMetrics(self, request: Any, timeout: float) -> FakeCall:  # noqa: N802
        return FakeCall(
            metrics_collector_pb2.GetAggregatedNodesMetricsResponse(
                nodes=[
                    metrics_collector_pb2.NodesAggregatedNodeMetrics(
                        node_name=f"step-{i}",
                        data=metrics_collector_pb2.AggregatedNodeMetrics(file_size=sizes),
                    )
                    for i, sizes in enumerate(self.sizes)
                ]
            )
        )

    def PredictScaling(self, request: Any, timeout: float) -> FakeCall:  # noqa: N802
        self.predicted_at.append((list(request.laws.data_x), request.data_x_to_predict))
        return FakeCall(
            metrics_collector_pb2.PredictScalingResponse(
                nodes=[
                    metrics_collector_pb2.NodeScalingPrediction(
                        node_name="prep",
                        prediction=metrics_collector_pb2.ScalingPrediction(
                            cpu=1.5, mem=1e8, duration=42.0
                        ),
                    )
                ]
            )
        )


async def test_scaling_laws_are_fitted_over_the_runs_input_sizes_and_evaluated_at_the_given_one() -> (
    None
):
    run = dry_runs_pb2.DryRun(id="r1", nodes=[node("r1-1", "prepare", 1)])
    run.nodes[0].display_name = "prep"
    services = ScalingServices(run, [[100.0, 200.0], [50.0, 400.0]])
    source = pb.ScalingLawSource(dry_run_ids=["r1", "r2"], input_size_bytes=800.0)
    found = await figures.from_scaling(services, services, "alice", source, 5.0)  # type: ignore[arg-type]
    assert services.predicted_at == [([100.0, 400.0], 800.0)]
    assert (found["prepare"].seconds, found["prepare"].cpu_cores) == (42.0, 1.5)
    for bad in (
        pb.ScalingLawSource(dry_run_ids=["r1"], input_size_bytes=1.0),
        pb.ScalingLawSource(dry_run_ids=["r1", "r1"], input_size_bytes=1.0),
        pb.ScalingLawSource(dry_run_ids=["r1", "r2"], input_size_bytes=-1.0),
        pb.ScalingLawSource(dry_run_ids=["r1", "r2"], input_size_bytes=1.0, regression_method="x"),
    ):
        with pytest.raises(InvalidInputError):
            await figures.from_scaling(services, services, "alice", bad, 5.0)  # type: ignore[arg-type]
    unsized = ScalingServices(run, [[0.0, 0.0]])
    with pytest.raises(InvalidInputError, match="no input files"):
        await figures.from_scaling(unsized, unsized, "alice", source, 5.0)  # type: ignore[arg-type]
