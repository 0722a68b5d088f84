"""The event contract on the real stack, as another tool sees it: a plain
nats-py subscriber of one owner's subjects, the AsyncAPI document the
gateway serves, and services started against a stream that is not as the
deployment declares it."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import nats
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from nats.aio.client import Client
from nats.js.api import DeliverPolicy, StorageType, StreamConfig

from simpipe.v1 import (
    events_pb2,
    service_info_pb2,
    service_info_pb2_grpc,
    storage_broker_pb2,
    storage_broker_pb2_grpc,
)
from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_common.testing import UNREACHABLE_ENV, service_process
from simpipe_devstack.components.base import Component
from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack
from simpipe_events import contract
from simpipe_events.stream import STREAM

DEV = "local-dev"
GUEST = "local-guest"
STEPS = tuple(
    SimulatedStep(name, seconds=3, cpu_millicores=100, memory_mib=16)
    for name in ("fetch", "clean", "train")
)
CREATE = "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }"
RUN_PHASES = [contract.run_phase_of_name(p) for p in ("Pending", "Running", "Succeeded")]
NODE_ORDER = [contract.node_phase_of_name(p) for p in ("Pending", "Running", "Succeeded")]


def pipeline(steps: tuple[SimulatedStep, ...]) -> dict[str, Any]:
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


async def _connect(url: str, mesh: ServiceSettings | None = None) -> Client:
    """As the tests' NATS user (`mesh`), or as nobody (a spare server)."""
    return await nats.connect(url, connect_timeout=5, **(connect_options(mesh) if mesh else {}))


class Received:
    """What a subscriber got: (stream sequence, subject, event), in delivery order."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str, Message]] = []
        self.changed = asyncio.Event()

    def events(self, kind: type[Message], run: str) -> list[Any]:
        return [e for _, _, e in self.messages if isinstance(e, kind) and e.dry_run_id == run]  # type: ignore[attr-defined]

    async def until(self, done: Callable[[], bool], seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@pytest.mark.timeout(240)
async def test_an_owners_subscriber_gets_a_runs_events_in_order_across_a_gateway_restart(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    guest: AsyncSimpipe,
    project: str,
    crash: Callable[[Component], None],
    mesh: ServiceSettings,
) -> None:
    connection = await _connect(endpoints["nats"], mesh)
    received = Received()

    async def on_message(msg: Any) -> None:
        event = contract.decode(msg.subject, msg.data)
        received.messages.append((msg.metadata.sequence.stream, msg.subject, event))
        received.changed.set()

    # As another tool would: a JetStream consumer of everything of one owner.
    js = connection.jetstream()
    subscription = await js.subscribe(
        contract.owner_filter(DEV), stream=STREAM, ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW, cb=on_message,
    )  # fmt: skip
    try:
        run_id = f"contract-{project[-6:]}"
        await dev.graphql(
            CREATE,
            i={
                "projectId": project,
                "dryRunId": run_id,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(STEPS),
            },
        )
        # Another user's run at the same time: none of its events may show.
        guest_project = (
            await guest.graphql('mutation { createProject(project: {name: "other"}) { id } }')
        )["createProject"]["id"]
        guest_run = f"contract-guest-{project[-6:]}"
        await guest.graphql(
            CREATE,
            i={
                "projectId": guest_project,
                "dryRunId": guest_run,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(STEPS[:1]),
            },
        )

        def first_step_running() -> bool:
            return any(
                e.display_name == "fetch" and e.phase == events_pb2.NODE_PHASE_RUNNING
                for e in received.events(events_pb2.StepPhaseChanged, run_id)
            )

        await received.until(first_step_running, 60)
        gateway = stack.component("gateway")
        await asyncio.to_thread(crash, gateway)
        await asyncio.to_thread(gateway.start, stack)

        def reported() -> bool:
            return bool(received.events(events_pb2.MetricsReady, run_id))

        await received.until(reported, 150)
    finally:
        await subscription.unsubscribe()
        await connection.close()
        await guest.graphql(
            "mutation($p: String!) { deleteProject(projectId: $p) }", p=guest_project
        )

    # Only its owner's events, on the subjects the contract builds for them.
    for _, subject, event in received.messages:
        assert contract.subject_of(event) == subject
        assert event.owner == DEV  # type: ignore[attr-defined]
    assert not [m for m in received.messages if guest_run in m[1]]
    sequences = [sequence for sequence, _, _ in received.messages]
    assert sequences == sorted(sequences), "delivered in stream order"
    ids = [contract.event_id(event) for _, _, event in received.messages]
    assert len(ids) == len(set(ids)), "each event once"

    [submitted] = received.events(events_pb2.DryRunSubmitted, run_id)
    runs = received.events(events_pb2.DryRunPhaseChanged, run_id)
    assert {r.uid for r in runs} == {submitted.uid}
    phases = [r.phase for r in runs]
    assert phases[-1] == events_pb2.DRY_RUN_PHASE_SUCCEEDED
    assert phases == sorted(phases, key=RUN_PHASES.index), phases
    assert runs[-1].progress == f"{len(STEPS)}/{len(STEPS)}"
    steps = received.events(events_pb2.StepPhaseChanged, run_id)
    for step in STEPS:
        seen = [e.phase for e in steps if e.display_name == step.name]
        # Every phase a step reaches is published once, in order; none missing.
        assert seen == NODE_ORDER, (step.name, seen)
    [ready] = received.events(events_pb2.MetricsReady, run_id)
    assert (ready.uid, ready.phase) == (submitted.uid, events_pb2.DRY_RUN_PHASE_SUCCEEDED)
    position = {contract.event_id(e): i for i, (_, _, e) in enumerate(received.messages)}
    assert position[contract.event_id(ready)] > position[contract.event_id(runs[-1])]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def spare_nats(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """A NATS server of this test's own (JetStream, loopback, a free port),
    with no stream yet: the stack's own is left alone."""
    port = free_port()
    process = subprocess.Popen(
        [str(stack.layout.binaries["nats-server"]), "-a", "127.0.0.1", "-p", str(port),
         "-js", "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def _collector_outcome(nats_url: str) -> tuple[int, str]:
    """Starts a metrics-collector against `nats_url`; its exit code and the
    reason it logged, once it stopped by itself."""
    env = {**UNREACHABLE_ENV, "SIMPIPE_NATS_URL": nats_url}
    async with service_process("simpipe_metrics_collector", env=env) as service:
        assert service.process.stdout is not None
        async with asyncio.timeout(60):
            async for line in service.process.stdout:
                service.logs.append(json.loads(line))
            code = await service.process.wait()
    reasons = [log["reason"] for log in service.logs if log.get("event") == "service cannot start"]
    return code, reasons[-1] if reasons else ""


@pytest.mark.timeout(180)
async def test_a_service_against_a_missing_or_misconfigured_stream_stops_saying_why(
    spare_nats: str,
) -> None:
    code, reason = await _collector_outcome(spare_nats)
    assert code == 2
    assert f"the JetStream stream {STREAM} does not exist" in reason
    assert "python -m simpipe_events provision" in reason

    connection = await _connect(spare_nats)
    try:
        js = connection.jetstream()
        # Someone made it by hand, in memory and for other subjects.
        await js.add_stream(
            StreamConfig(name=STREAM, subjects=["elsewhere.>"], storage=StorageType.MEMORY)
        )
        code, reason = await _collector_outcome(spare_nats)
        assert code == 2
        assert "its subjects are ['elsewhere.>']" in reason
        assert "its storage is" in reason
        await js.delete_stream(STREAM)
    finally:
        await connection.close()

    provision = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simpipe_events", "provision", "--nats-url", spare_nats,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    said, _ = await asyncio.wait_for(provision.communicate(), 60)
    assert provision.returncode == 0
    assert "created stream SIMPIPE" in said.decode()
    # As declared: the collector starts, consumes and stays up.
    env = {**UNREACHABLE_ENV, "SIMPIPE_NATS_URL": spare_nats}
    async with service_process("simpipe_metrics_collector", env=env) as service:
        async with mesh_channel(f"127.0.0.1:{service.grpc_port}", service.caller) as channel:
            stub = service_info_pb2_grpc.ServiceInfoStub(channel)
            async with asyncio.timeout(30):
                while True:
                    info = await stub.GetInfo(service_info_pb2.GetInfoRequest())
                    events = {d.name: d for d in info.dependencies}["events"]
                    if events.ok:
                        break
                    await asyncio.sleep(0.1)
        status, body = await service.http_request("/health")
        assert (status, "starting" in json.loads(body)) == (200, False)
        assert await service.terminate() == 0


def _channel_pattern(address: str) -> re.Pattern[str]:
    """An AsyncAPI channel address as a regex of the subjects it names."""
    parts = [
        "[^.]+" if re.fullmatch(r"\{[a-z]+\}", part) else re.escape(part)
        for part in address.split(".")
    ]
    return re.compile(r"\.".join(parts))


def _schema_of(document: dict[str, Any], ref: str) -> dict[str, Any]:
    """A schema that is `ref` within the document (its components resolve)."""
    return {"$ref": ref, "components": document["components"]}


async def _simulate(dev: AsyncSimpipe, project: str, cluster: str) -> None:
    """A one-step simulation of the project's pipeline on a one-node virtual cluster."""
    await dev.graphql(
        "mutation($i: CreateVirtualClusterInput!) { createVirtualCluster(input: $i) { id } }",
        i={"id": cluster, "pools": [
            {"name": "p", "count": 1, "cpu": "1", "memory": "1Gi", "pods": 4}
        ]},
    )  # fmt: skip
    template = pipeline(STEPS[:1])
    template["kind"] = "WorkflowTemplate"
    template["metadata"] = {"name": cluster}
    await dev.graphql(
        "mutation($i: CreateWorkflowTemplateInput!) { createWorkflowTemplate(input: $i) { name } }",
        i={"projectId": project, "argoWorkflowTemplate": template},
    )
    async with asyncio.timeout(60):
        while True:
            found = await dev.graphql(
                "query($id: String!) { virtualCluster(id: $id) { pools { ready } } }", id=cluster
            )
            if found["virtualCluster"]["pools"][0]["ready"] == 1:
                break
            await asyncio.sleep(0.2)
    await dev.graphql(
        "mutation($i: StartSimulationInput!) { startSimulation(input: $i) { id } }",
        i={
            "projectId": project, "workflowTemplateName": cluster, "virtualClusterId": cluster,
            "simulationId": cluster,
            "timing": {"explicit": [{"step": STEPS[0].name, "seconds": 3.0}]},
        },
    )  # fmt: skip


async def _without_cluster(dev: AsyncSimpipe, cluster: str) -> None:
    """The simulation (its runs and report) and its cluster, gone."""
    for mutation in (
        "mutation($id: String!) { deleteSimulation(id: $id) }",
        "mutation($id: String!) { deleteVirtualCluster(id: $id) }",
    ):
        try:
            await dev.graphql(mutation, id=cluster)
        except GraphQLError as error:  # clean-up: never made, or gone already
            print(f"clean-up: {error}")


@pytest.mark.timeout(240)
async def test_every_published_event_is_in_the_asyncapi_document_and_valid(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    project: str,
    mesh: ServiceSettings,
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        document = (await http.get(f"{endpoints['gateway_http']}/asyncapi.json")).json()
    channels = {
        name: (_channel_pattern(channel["address"]), channel)
        for name, channel in document["channels"].items()
    }
    connection = await _connect(endpoints["nats"], mesh)
    seen: list[tuple[str, dict[str, str], bytes]] = []
    arrived = asyncio.Event()

    async def on_message(msg: Any) -> None:
        seen.append((msg.subject, dict(msg.headers or {}), msg.data))
        arrived.set()

    # Everything the mesh publishes, as a tool with every right would see it.
    subscription = await connection.jetstream().subscribe(
        f"{contract.ROOT}.>", stream=STREAM, ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW, cb=on_message,
    )  # fmt: skip
    run_id = f"asyncapi-{project[-6:]}"
    cluster = f"asyncapi-{project[-6:]}"
    try:
        # A dry run to its report, an upload and a delete, and a message no
        # consumer can read (parked on the dead-letter subject).
        await dev.graphql(
            CREATE,
            i={
                "projectId": project,
                "dryRunId": run_id,
                "placement": "VIRTUAL_NODES",
                "argoWorkflow": pipeline(STEPS[:1]),
            },
        )
        await _upload_and_delete(endpoints, mesh, f"asyncapi-{project[-6:]}")
        junk_subject = contract.event_type(events_pb2.DryRunPhaseChanged).subject(
            owner="asyncapi-junk", project="p", run=run_id
        )
        await connection.jetstream().publish(junk_subject, b"\x0a\xff not an event", stream=STREAM)

        def kinds() -> set[str]:
            return {
                name
                for subject, _, _ in seen
                for name, (p, _) in channels.items()
                if p.fullmatch(subject)
            }

        # A small simulation publishes the Simulation* kinds; a dry run, an
        # upload and a delete every other kind.
        await _simulate(dev, project, cluster)
        wanted = {t.name for t in contract.EVENT_TYPES} | {"DeadLetter"}
        async with asyncio.timeout(180):
            while not wanted <= kinds():
                arrived.clear()
                await arrived.wait()
    finally:
        await subscription.unsubscribe()
        await connection.close()
        await _without_cluster(dev, cluster)

    for subject, headers, data in seen:
        if subject == junk_subject:
            continue  # the junk itself, as the test published it
        matching = [name for name, (pattern, _) in channels.items() if pattern.fullmatch(subject)]
        assert len(matching) == 1, (subject, matching)
        [(_, channel)] = [channels[name] for name in matching]
        [reference] = channel["messages"].values()
        message = document["components"]["messages"][reference["$ref"].rpartition("/")[2]]
        jsonschema.validate(headers, message["headers"])
        if matching[0] == "DeadLetter":
            continue  # its body is whatever could not be read
        full_name = message["contentType"].removeprefix(contract.CONTENT_TYPE_PREFIX)
        kind = contract.event_type_named(full_name)
        assert kind is not None, full_name
        event = kind.message.FromString(data)
        jsonschema.Draft7Validator(
            _schema_of(document, message["payload"]["schema"]["$ref"]),
            format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
        ).validate(MessageToDict(event))
    parked = [h for s, h, _ in seen if s.startswith(f"{contract.ROOT}.deadletter.")]
    assert {h["Simpipe-Original-Subject"] for h in parked} == {junk_subject}


async def _upload_and_delete(endpoints: dict[str, str], mesh: ServiceSettings, bucket: str) -> None:
    """An object made by a (one-part) multipart upload through the storage
    broker, then deleted: its ObjectCreated and ObjectDeleted."""
    async with mesh_channel(endpoints["storage-broker_grpc"], mesh) as channel:
        broker = storage_broker_pb2_grpc.StorageBrokerStub(channel)
        sb = storage_broker_pb2
        await broker.CreateBucket(sb.BucketRef(caller=DEV, bucket=bucket))
        key = "inputs/data.csv"
        upload = await broker.CreateMultipartUpload(
            sb.CreateMultipartUploadRequest(caller=DEV, bucket=bucket, key=key)
        )
        url = await broker.PresignUploadPart(
            sb.PresignUploadPartRequest(
                caller=DEV, bucket=bucket, key=key, upload_id=upload.upload_id, part_number=1
            )
        )
        async with httpx.AsyncClient() as http:
            response = await http.put(url.url, content=b"a,b\n1,2\n")
        assert response.status_code == 200, response.text
        await broker.CompleteMultipartUpload(
            sb.CompleteMultipartUploadRequest(
                caller=DEV, bucket=bucket, key=key, upload_id=upload.upload_id,
                parts=[sb.CompletedPart(part_number=1, etag=response.headers["ETag"])],
            )
        )  # fmt: skip
        await broker.DeleteBucket(sb.DeleteBucketRequest(caller=DEV, bucket=bucket, force=True))
