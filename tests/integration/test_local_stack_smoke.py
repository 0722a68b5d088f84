"""Smoke test of the local stack: every real component does its job.

Argo runs a hera-built pipeline on KWOK nodes with the simulated durations,
exit codes and usage; Prometheus has the emulated cAdvisor series; the
archive keeps the finished workflow; S3 returns what it stored; JetStream
keeps an acknowledged message across a server restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import nats
import pytest

from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.components import Component
from simpipe_devstack.components.argo import POD_GC_DELAY_SECONDS
from simpipe_devstack.components.minio import s3_client
from simpipe_devstack.components.nats import Nats
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.runs import (
    ArgoApi,
    FinishedRun,
    PrometheusApi,
    argo_token,
    pod_steps,
    pods_by_node_id,
)
from simpipe_devstack.stack import Stack

OK_STEPS = (
    SimulatedStep("prepare", seconds=3, cpu_millicores=400, memory_mib=96),
    SimulatedStep("crunch", seconds=6, cpu_millicores=1200, memory_mib=300),
    SimulatedStep("report", seconds=2, cpu_millicores=200, memory_mib=48),
)
FAILING_STEPS = (
    SimulatedStep("fetch", seconds=2, cpu_millicores=100, memory_mib=32),
    SimulatedStep("explode", seconds=2, cpu_millicores=100, memory_mib=32, exit_code=3),
    SimulatedStep("never", seconds=2, cpu_millicores=100, memory_mib=32),
)


def run_pipeline(
    endpoints: dict[str, str], steps: tuple[SimulatedStep, ...], prefix: str
) -> dict[str, Any]:
    token = argo_token(endpoints)
    argo = ArgoApi(endpoints["argo_server"], token)
    workflow = simulated_pipeline(
        steps, argo_service(endpoints["argo_server"], token), prefix
    ).create()
    return argo.follow(str(workflow.metadata.name), timeout=120)


@pytest.fixture(scope="module")
def succeeded_run(stack: Stack, endpoints: dict[str, str]) -> FinishedRun:
    final = run_pipeline(endpoints, OK_STEPS, "smoke-ok-")
    return FinishedRun.of(str(stack.layout.kubeconfig), final)


@pytest.mark.timeout(180)
def test_pipeline_succeeds_and_each_step_takes_its_annotated_duration(
    succeeded_run: FinishedRun,
) -> None:
    assert succeeded_run.workflow["status"]["phase"] == "Succeeded"
    steps = {s.name: s for s in pod_steps(succeeded_run.workflow)}
    assert sorted(steps) == sorted(s.name for s in OK_STEPS)
    for expected in OK_STEPS:
        step = steps[expected.name]
        assert step.phase == "Succeeded"
        assert step.duration is not None
        assert abs(step.duration - expected.seconds) <= 1, (step.name, step.duration)
    # Sequential: each step starts after the previous one finished.
    ordered = [steps[s.name] for s in OK_STEPS]
    for before, after in pairwise(ordered):
        assert (before.finished_at or "") <= (after.started_at or "")


@pytest.mark.timeout(180)
def test_step_annotated_to_fail_fails_the_workflow_with_its_exit_code(
    endpoints: dict[str, str],
) -> None:
    final = run_pipeline(endpoints, FAILING_STEPS, "smoke-fail-")
    assert final["status"]["phase"] == "Failed"
    steps = {s.name: s for s in pod_steps(final)}
    assert steps["fetch"].phase == "Succeeded"
    assert steps["explode"].phase == "Failed"
    assert steps["explode"].exit_code == "3" or "exit code 3" in steps["explode"].message
    assert "never" not in steps


@pytest.mark.timeout(120)
def test_prometheus_has_the_emulated_cpu_and_memory_of_each_step(
    stack: Stack, endpoints: dict[str, str], succeeded_run: FinishedRun
) -> None:
    pods = succeeded_run.pods
    prometheus = PrometheusApi(endpoints["prometheus"])
    # The run has ended: the next scrape of every KWOK node holds its last usage.
    prometheus.wait_for_scrapes("kwok-cadvisor", after=time.time())
    for step in pod_steps(succeeded_run.workflow):
        expected = next(s for s in OK_STEPS if s.name == step.name)
        selector = f'namespace="simpipe",pod="{pods[step.node_id]}",container="main"'
        memory = prometheus.query(
            f"max_over_time(container_memory_working_set_bytes{{{selector}}}[5m])"
        )
        assert memory, f"no memory series for {step.name}"
        assert float(memory[0]["value"][1]) == expected.memory_mib * 2**20
        # The counter ends at rate x duration: KWOK integrates the annotated
        # cores over the step's simulated run time.
        cpu = prometheus.query(
            f"max_over_time(container_cpu_usage_seconds_total{{{selector}}}[5m])"
        )
        assert cpu, f"no cpu series for {step.name}"
        cores = expected.cpu_millicores / 1000
        assert float(cpu[0]["value"][1]) == pytest.approx(cores * expected.seconds, rel=0.02)
        if expected.seconds >= 5:
            # Long enough for several 1 s samples while running: the rate
            # between them is the annotated number of cores. Its median while
            # running (rate > 0), not its peak: Prometheus stamps a sample
            # when the scrape starts and KWOK computes the counter when it
            # renders, so one slow render on a busy machine makes one rate
            # up to twice the truth.
            typical = prometheus.query(
                "quantile_over_time(0.5, (rate(container_cpu_usage_seconds_total"
                f"{{{selector}}}[2s]) > 0)[5m:1s])"
            )
            assert typical
            assert float(typical[0]["value"][1]) == pytest.approx(cores, rel=0.15)


@pytest.mark.timeout(90)
def test_finished_workflow_is_in_argos_archive(
    endpoints: dict[str, str], succeeded_run: FinishedRun
) -> None:
    argo = ArgoApi(endpoints["argo_server"], argo_token(endpoints))
    uid = succeeded_run.workflow["metadata"]["uid"]
    deadline = time.monotonic() + 60
    archived = argo.archived(uid)
    while archived is None and time.monotonic() < deadline:
        time.sleep(1)
        archived = argo.archived(uid)
    assert archived is not None, "workflow never reached the archive"
    assert archived["metadata"]["name"] == succeeded_run.workflow["metadata"]["name"]
    assert archived["status"]["phase"] == "Succeeded"


def test_s3_object_reads_back_byte_exact(stack: Stack, endpoints: dict[str, str]) -> None:
    s3 = s3_client(stack)
    bucket = f"smoke-{uuid.uuid4().hex[:12]}"
    body = os.urandom(5 * 2**20 + 17)
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key="dir/input.bin", Body=body)
        read = s3.get_object(Bucket=bucket, Key="dir/input.bin")["Body"].read()
        assert hashlib.sha256(read).hexdigest() == hashlib.sha256(body).hexdigest()
        assert len(read) == len(body)
    finally:
        s3.delete_object(Bucket=bucket, Key="dir/input.bin")
        s3.delete_bucket(Bucket=bucket)


@pytest.mark.timeout(90)
def test_acknowledged_jetstream_message_survives_a_server_restart(
    stack: Stack,
    endpoints: dict[str, str],
    mesh: ServiceSettings,
    crash: Callable[[Component], None],
) -> None:
    suffix = uuid.uuid4().hex[:10]
    stream, subject = f"SMOKE_{suffix}", f"smoke.{suffix}"
    payload = os.urandom(4096)

    async def publish() -> int:
        nc = await nats.connect(endpoints["nats"], **connect_options(mesh))
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[subject], storage="file")
        ack = await js.publish(subject, payload, headers={"Nats-Msg-Id": f"smoke-{suffix}"})
        await nc.close()
        return ack.seq

    async def read_back(seq: int) -> bytes:
        nc = await nats.connect(endpoints["nats"], **connect_options(mesh))
        js = nc.jetstream()
        try:
            msg = await js.get_msg(stream, seq)
            return msg.data or b""
        finally:
            await js.delete_stream(stream)
            await nc.close()

    seq = asyncio.run(publish())
    server = stack.component(Nats.name)
    crash(server)  # not a graceful stop: nothing gets a chance to flush
    server.start(stack)
    assert asyncio.run(read_back(seq)) == payload


@pytest.mark.timeout(240)
def test_a_finished_runs_pods_are_deleted_after_the_gc_delay(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    """Argo's default podGC: kept pods would keep kwok-controller emulating
    (and Prometheus scraping) every finished step for ever."""
    steps = (SimulatedStep("brief", seconds=1, cpu_millicores=10, memory_mib=8),)
    run = FinishedRun.of(str(stack.layout.kubeconfig), run_pipeline(endpoints, steps, "smoke-gc-"))
    assert run.pods, "a run that just ended still has its pods"
    finished = datetime.fromisoformat(run.workflow["status"]["finishedAt"])
    deadline = finished + timedelta(seconds=POD_GC_DELAY_SECONDS + 90)
    name = run.workflow["metadata"]["name"]
    pods = run.pods
    while pods and datetime.now(UTC) < deadline:
        time.sleep(2)
        pods = pods_by_node_id(str(stack.layout.kubeconfig), name)
    assert not pods, f"pods of {name} still there {POD_GC_DELAY_SECONDS + 90} s after it ended"
    # Not before the delay: a client can still look at a run that just ended.
    assert datetime.now(UTC) >= finished + timedelta(seconds=POD_GC_DELAY_SECONDS)
