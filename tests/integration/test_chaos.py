"""Chaos: every service and the NATS server killed with SIGKILL, one after
the other, while dry runs (on virtual nodes) and uploads through the API go
on; each is started again. Afterwards nothing the users were told happened
is missing from the event stream: every dry run that was created reaches
its terminal phase event and its report (MetricsReady), and every upload
that completed has its ObjectCreated. Bounded: about a minute of load."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import pytest

from simpipe.v1 import events_pb2, storage_broker_pb2, storage_broker_pb2_grpc
from simpipe_client import AsyncSimpipe
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.components.base import Component
from simpipe_devstack.components.minio import UPLOADS_BUCKET
from simpipe_devstack.components.nats import Nats
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack
from simpipe_devstack.stored_events import stored_events
from simpipe_events import contract
from simpipe_events.last_event import last_event

DEV = "local-dev"
VICTIMS = ("workflow-submitter", "argo-watcher", "metrics-collector", "storage-broker", "gateway")
LOAD_PERIOD_SECONDS = 1.0
BETWEEN_KILLS_SECONDS = 4.0
SETTLE_SECONDS = 240.0
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"


@dataclass
class Load:
    """What the users were told succeeded, and what failed while a part was down."""

    runs: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    refused: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def one_step() -> dict[str, Any]:
    steps = (SimulatedStep("step", seconds=2, cpu_millicores=50, memory_mib=16),)
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


async def create_runs(dev: AsyncSimpipe, project: str, load: Load) -> None:
    while not load.stop.is_set():
        run_id = f"chaos-{uuid.uuid4().hex[:8]}"
        try:
            await dev.graphql(
                CREATE,
                i={
                    "projectId": project,
                    "dryRunId": run_id,
                    "placement": "VIRTUAL_NODES",
                    "argoWorkflow": one_step(),
                },
            )
        except Exception:  # a part is down: the user was told it failed
            load.refused += 1
        else:
            load.runs.append(run_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(load.stop.wait(), LOAD_PERIOD_SECONDS)


async def upload(broker: Any, key: str) -> None:
    sb = storage_broker_pb2
    started = await broker.CreateMultipartUpload(
        sb.CreateMultipartUploadRequest(caller=DEV, bucket=UPLOADS_BUCKET, key=key), timeout=10
    )
    url = await broker.PresignUploadPart(
        sb.PresignUploadPartRequest(
            caller=DEV, bucket=UPLOADS_BUCKET, key=key, upload_id=started.upload_id, part_number=1
        ),
        timeout=10,
    )
    async with httpx.AsyncClient(timeout=10) as http:
        put = await http.put(url.url, content=b"chaos\n")
    put.raise_for_status()
    await broker.CompleteMultipartUpload(
        sb.CompleteMultipartUploadRequest(
            caller=DEV, bucket=UPLOADS_BUCKET, key=key, upload_id=started.upload_id,
            parts=[sb.CompletedPart(part_number=1, etag=put.headers["ETag"])],
        ),
        timeout=10,
    )  # fmt: skip


async def make_uploads(endpoint: str, mesh: ServiceSettings, prefix: str, load: Load) -> None:
    while not load.stop.is_set():
        key = f"{prefix}/{uuid.uuid4().hex[:8]}.txt"
        try:
            async with mesh_channel(endpoint, mesh) as channel:
                await upload(storage_broker_pb2_grpc.StorageBrokerStub(channel), key)
        except Exception:  # the broker is down: the user was told it failed
            load.refused += 1
        else:
            load.uploads.append(key)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(load.stop.wait(), LOAD_PERIOD_SECONDS)


async def created_keys(js: Any, prefix: str) -> set[str]:
    """The keys of every ObjectCreated of the uploads bucket under `prefix`."""
    subject = contract.event_type(events_pb2.ObjectCreated).subject(
        owner=DEV, bucket=UPLOADS_BUCKET
    )
    keys = set()
    for event in await stored_events(js, subject):
        assert isinstance(event, events_pb2.ObjectCreated)
        if event.key.startswith(prefix):
            keys.add(event.key)
    return keys


async def missing(js: Any, project: str, load: Load, prefix: str) -> dict[str, list[str]]:
    """What the stream does not have (yet) of what the users were told."""
    unfinished, unreported = [], []
    for run in load.runs:
        like_phase = events_pb2.DryRunPhaseChanged(owner=DEV, project_id=project, dry_run_id=run)
        phase = await last_event(js, like_phase)
        if phase is None or phase.phase not in contract.TERMINAL_RUN_PHASES:
            unfinished.append(run)
        like_ready = events_pb2.MetricsReady(owner=DEV, project_id=project, dry_run_id=run)
        ready = await last_event(js, like_ready)
        if ready is None or phase is None or ready.uid != phase.uid:
            unreported.append(run)
    found = await created_keys(js, prefix)
    return {
        "runs without a terminal phase event": unfinished,
        "runs without a report": unreported,
        "uploads without ObjectCreated": [k for k in load.uploads if k not in found],
    }


@pytest.mark.timeout(600)
async def test_nothing_is_lost_when_each_part_is_killed_under_load(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    project: str,
    mesh: ServiceSettings,
    crash: Callable[[Component], None],
) -> None:
    load = Load()
    prefix = f"chaos-{uuid.uuid4().hex[:8]}"
    workers = [
        asyncio.create_task(create_runs(dev, project, load)),
        asyncio.create_task(make_uploads(endpoints["storage-broker_grpc"], mesh, prefix, load)),
    ]
    try:
        for name in (*VICTIMS, Nats.name):
            await asyncio.sleep(BETWEEN_KILLS_SECONDS)  # load runs meanwhile
            victim = stack.component(name)
            await asyncio.to_thread(crash, victim)
            await asyncio.to_thread(victim.start, stack)
        await asyncio.sleep(BETWEEN_KILLS_SECONDS)
    finally:
        load.stop.set()
        await asyncio.gather(*workers)
    assert len(load.runs) >= 10, load
    assert len(load.uploads) >= 10, load

    connection = await nats.connect(endpoints["nats"], **connect_options(mesh))
    try:
        js = connection.jetstream()
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            gaps = await missing(js, project, load, prefix)
            if not any(gaps.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)  # runs finish and reports are written meanwhile
    finally:
        await connection.close()
    print(
        f"\nchaos: {len(load.runs)} runs, {len(load.uploads)} uploads created;"
        f" {load.refused} refused while a part was down"
    )
    assert gaps == {key: [] for key in gaps}
