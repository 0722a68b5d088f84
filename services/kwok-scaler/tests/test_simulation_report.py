"""A simulation's report from its replayed timeline (steps, queueing,
unschedulable steps with the scheduler's words, energy with the dry runs'
model), its Parquet table, and the record a restarted scaler resumes from."""

import io

import pyarrow.parquet as pq
import pytest

from simpipe.v1 import events_pb2
from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.energy import EnergyModel
from simpipe_kwok_scaler.simulations import report as reports
from simpipe_kwok_scaler.simulations.observations import PodObservation, dump, load
from simpipe_kwok_scaler.simulations.records import SimulationRecord, record_name
from simpipe_kwok_scaler.simulations.replay import Pool, Timeline, replay

SCALE = 10.0


def timeline_of_two_steps_and_one_too_big() -> tuple[pb.Simulation, Timeline]:
    pods = [
        PodObservation(
            name=f"p{i}", workflow="s-0", template="work", display_name=f"work({i})",
            node_id=f"s-0-{i}", created=0.0, scheduled=0.1 + i * 2.2, running=0.2 + i * 2.2,
            finished=2.2 + i * 2.2, node="vc-x-c-small-0", phase="Succeeded",
            cpu_request=0.5, memory_request=2**30,
            unschedulable="0/1 nodes are available: 1 Too many pods." if i else "",
        )
        for i in range(2)
    ]  # fmt: skip
    pods.append(
        PodObservation(
            name="big", workflow="s-0", template="big", display_name="big", created=0.0,
            unschedulable="0/1 nodes are available: 1 Insufficient cpu.",
        )
    )  # fmt: skip
    timeline = replay(
        pods, seconds={"work": 20.0, "big": 5.0}, time_scale=SCALE,
        copies={"s-0": (0, 0.0)}, node_pools={"vc-x-c-small-0": "small"},
        pools=[Pool("small", 1.0, 2.0**31)], wall_start=0.0,
    )  # fmt: skip
    simulation = pb.Simulation(id="s", owner="alice", phase=events_pb2.SIMULATION_PHASE_FAILED)
    return simulation, timeline


def test_the_report_tells_makespan_queueing_the_unschedulable_and_energy() -> None:
    simulation, timeline = timeline_of_two_steps_and_one_too_big()
    figures = {"work": pb.StepFigures(step="work", seconds=20.0, cpu_cores=1.0, memory_bytes=1e9)}
    model = EnergyModel(10.0, 0.5, 300.0)
    report = reports.build(simulation, timeline, figures, SCALE, model)
    assert report.makespan_seconds == 40.0
    assert report.time_scale == SCALE
    work = [s for s in report.steps if s.template_name == "work"]
    assert [(s.started_seconds, s.finished_seconds, s.queued_seconds) for s in work] == [
        (0.0, 20.0, 0.0), (20.0, 40.0, 20.0),
    ]  # fmt: skip
    [big] = report.unschedulable
    assert (big.display_name, big.reason) == ("big", "0/1 nodes are available: 1 Insufficient cpu.")
    # 2 steps x 20 s x 1 core, and 1 GB held for 40 s.
    assert report.energy_kwh == pytest.approx(model.energy_kwh(40.0, 40e9))
    assert report.carbon_g_co2 == pytest.approx(report.energy_kwh * 300.0)
    [pool] = report.pools
    assert (pool.pool, pool.peak_cpu, pool.mean_cpu) == ("small", 0.5, 0.5)
    assert report.peak_pods_pending == 2


def test_the_parquet_table_has_a_row_per_step() -> None:
    simulation, timeline = timeline_of_two_steps_and_one_too_big()
    report = reports.build(simulation, timeline, {}, SCALE, EnergyModel(1, 1, 1))
    table = pq.read_table(io.BytesIO(reports.parquet_bytes(reports.rows(report))))
    assert table.num_rows == 3
    assert table.column_names == list(reports.COLUMNS)
    assert sorted(str(p) for p in table.column("phase").to_pylist()) == [
        "Succeeded",
        "Succeeded",
        "Unschedulable",
    ]


async def test_the_parquet_file_is_written_by_a_child_process() -> None:
    simulation, timeline = timeline_of_two_steps_and_one_too_big()
    report = reports.build(simulation, timeline, {}, SCALE, EnergyModel(1, 1, 1))
    written = await reports.write_parquet(reports.rows(report))
    assert pq.read_table(io.BytesIO(written)).num_rows == 3


def test_report_keys_are_under_the_owner() -> None:
    json_key, parquet_key = reports.keys("alice", "s")
    assert json_key.startswith("simulations/")
    assert json_key.endswith("/s/report.json")
    assert reports.keys("bob", "s")[0] != json_key
    assert parquet_key.endswith("/s/steps.parquet")


def test_a_record_keeps_spec_figures_state_and_observations() -> None:
    simulation = pb.Simulation(
        id="s", owner="alice", project_id="p", dry_run_ids=["s-0"],
        spec=pb.StartSimulationRequest(time_scale=10.0, copies=1),
    )  # fmt: skip
    observed = {"p0": PodObservation(name="p0", workflow="s-0", created=1.5, finished=3.25)}
    record = SimulationRecord(
        simulation, [pb.StepFigures(step="work", seconds=2.0)], {"submitted": 1},
        dump(observed),
    )  # fmt: skip
    document = record.document("simpipe-system")
    assert document["metadata"]["name"] == record_name("alice", "s")
    assert document["metadata"]["labels"]["simpipe.io/record"] == "simulation"
    back = SimulationRecord.from_document(document)
    assert back.simulation == simulation
    assert back.figures == record.figures
    assert back.state == {"submitted": 1}
    assert load(back.observations) == observed
