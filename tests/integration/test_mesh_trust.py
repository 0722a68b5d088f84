"""Trust inside the mesh, tried against the running stack: a gRPC port
answers only callers with a certificate of the stack's CA, each service only
the identities that may call it; reflection is off; NATS takes only its
users, each publishing its own events and reading what it consumes; and the
gateway, which proved who it is, is answered as before."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import nats
import nats.errors
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from simpipe.v1 import events_pb2
from simpipe_client import AsyncSimpipe
from simpipe_common.errors import REASON_KEY
from simpipe_common.grpc_callers import ALLOWED_CALLERS
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.mesh_pki import Authority
from simpipe_common.nats_auth import connect_options
from simpipe_common.settings import ServiceSettings
from simpipe_devstack.mesh_pki import stack_pki
from simpipe_devstack.mesh_users import SERVICE_NAMES, TESTS
from simpipe_devstack.stack import Stack
from simpipe_events import contract
from simpipe_events.inboxes import inbox_prefix
from simpipe_events.stream import REPORTS, STREAM

GRPC_SERVICES = [name for name in SERVICE_NAMES if name != "gateway"]
# A read-only method of each service's own API.
OWN_METHOD = {
    "workflow-submitter": "/simpipe.v1.WorkflowSubmitter/ListProjects",
    "argo-watcher": "/simpipe.v1.ArgoWatcher/ListDryRuns",
    "metrics-collector": "/simpipe.v1.MetricsCollector/GetRunSummary",
    "storage-broker": "/simpipe.v1.StorageBroker/ListBuckets",
    "kwok-scaler": "/simpipe.v1.KwokScaler/ListVirtualClusters",
}
HEALTH = "/grpc.health.v1.Health/Check"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def as_identity(stack: Stack, identity: str) -> ServiceSettings:
    """A caller with `identity`'s certificate of the stack's CA."""
    files = stack_pki(stack).files(identity)
    return ServiceSettings(tls_ca_file=files.ca, tls_cert_file=files.cert, tls_key_file=files.key)


async def health(channel: grpc.aio.Channel) -> int:
    check = channel.unary_unary(
        HEALTH,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    answer = await check(health_pb2.HealthCheckRequest(), timeout=10)
    return answer.status


async def refusal(channel: grpc.aio.Channel, method: str = HEALTH) -> grpc.aio.AioRpcError:
    """The error a call of `method` (an empty request) ends with on `channel`."""
    async with channel:
        call = channel.unary_unary(
            method, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(b"", timeout=10)
    return refused.value


@pytest.fixture(params=GRPC_SERVICES)
async def service(
    request: pytest.FixtureRequest, endpoints: dict[str, str], mesh: ServiceSettings
) -> tuple[str, str]:
    """(name, gRPC address) of a service that answers the tests' identity."""
    name: str = request.param
    address = endpoints[f"{name}_grpc"]
    async with mesh_channel(address, mesh) as channel:
        assert await health(channel) == health_pb2.HealthCheckResponse.SERVING
    return name, address


async def test_a_caller_without_a_certificate_is_refused(
    stack: Stack, service: tuple[str, str]
) -> None:
    _, address = service
    plaintext = await refusal(grpc.aio.insecure_channel(address))
    ca = stack_pki(stack).ca_file.read_bytes()
    # TLS that checks the server, with no certificate of its own.
    anonymous = await refusal(grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(ca)))
    assert plaintext.code() == anonymous.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_of_another_ca_is_refused(
    stack: Stack, service: tuple[str, str]
) -> None:
    _, address = service
    impostor = Authority.create().issue("gateway")
    ca = stack_pki(stack).ca_file.read_bytes()
    credentials = grpc.ssl_channel_credentials(ca, impostor.key_pem, impostor.cert_pem)
    refused = await refusal(grpc.aio.secure_channel(address, credentials))
    assert refused.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_service_that_may_not_call_another_is_denied(
    stack: Stack, service: tuple[str, str]
) -> None:
    name, address = service
    # The caller field (the end user) is no pass: only the identity counts.
    for caller in sorted(set(SERVICE_NAMES) - ALLOWED_CALLERS[name] - {TESTS}):
        refused = await refusal(mesh_channel(address, as_identity(stack, caller)), OWN_METHOD[name])
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED, caller
        assert dict(refused.trailing_metadata() or ())[REASON_KEY] == "permission-denied"


async def test_reflection_is_off(service: tuple[str, str], mesh: ServiceSettings) -> None:
    _, address = service
    async with mesh_channel(address, mesh) as channel:
        # Asked as a unary call: an unknown method is UNIMPLEMENTED whatever
        # its kind, and a stream the server ends before reading its request
        # fails on the client's side instead (INTERNAL), by timing.
        reflect = channel.unary_unary(
            REFLECTION,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await reflect(reflection_pb2.ServerReflectionRequest(list_services=""), timeout=10)
        code = refused.value.code()
    assert code == grpc.StatusCode.UNIMPLEMENTED


async def test_the_gateway_is_answered_as_before(dev: AsyncSimpipe) -> None:
    """Through its mTLS channels to the workflow-submitter and storage-broker."""
    found = await dev.graphql("{ projects { id } buckets { name } }")
    assert isinstance(found["projects"], list)
    assert isinstance(found["buckets"], list)


class Refusals:
    """What NATS told a connection it refused (its error callback)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.changed = asyncio.Event()

    async def record(self, error: Exception) -> None:
        """nats-py's error_cb (a coroutine function)."""
        self.errors.append(str(error).lower())
        self.changed.set()

    async def named(self, *words: str) -> str:
        """The first refusal that names all `words`, once NATS has sent it."""
        async with asyncio.timeout(10):
            while True:
                found = [e for e in self.errors if all(w.lower() in e for w in words)]
                if found:
                    return found[0]
                self.changed.clear()
                await self.changed.wait()


async def connected_as(
    stack: Stack, endpoints: dict[str, str], user: str, refusals: Refusals
) -> Client:
    return await nats.connect(
        endpoints["nats"],
        user=user,
        password=stack.secrets.nats_passwords[user],
        inbox_prefix=inbox_prefix(user),
        error_cb=refusals.record,
        allow_reconnect=False,
    )


@pytest.mark.parametrize(
    "credentials",
    [{}, {"user": "storage-broker", "password": "not-its-password"}],
    ids=["no user", "a wrong password"],
)
async def test_nats_takes_only_its_users(
    endpoints: dict[str, str], credentials: dict[str, str]
) -> None:
    refusals = Refusals()
    with pytest.raises(nats.errors.Error) as refused:
        await nats.connect(
            endpoints["nats"],
            connect_timeout=5,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=refusals.record,
            **credentials,
        )
    said = [str(refused.value).lower(), *refusals.errors]
    assert any("authorization violation" in text for text in said), said


def foreign_run_phase() -> events_pb2.DryRunPhaseChanged:
    """A run phase event, the argo-watcher's to publish, of nobody's run."""
    run = f"mesh-trust-{uuid.uuid4().hex[:8]}"
    return events_pb2.DryRunPhaseChanged(
        meta=contract.meta(f"mesh-trust:{run}", "storage-broker"),
        owner=f"nobody-{run}",
        project_id="p",
        dry_run_id=run,
        uid=run,
        phase=events_pb2.DRY_RUN_PHASE_SUCCEEDED,
    )


async def test_a_service_cannot_publish_another_services_events(
    stack: Stack, endpoints: dict[str, str], mesh: ServiceSettings
) -> None:
    event = foreign_run_phase()
    subject = contract.subject_of(event)
    refusals = Refusals()
    connection = await connected_as(stack, endpoints, "storage-broker", refusals)
    try:
        with pytest.raises(nats.errors.TimeoutError):  # the stream never acknowledges it
            await connection.jetstream(timeout=3).publish(
                subject, event.SerializeToString(), stream=STREAM
            )
        await refusals.named("permissions violation for publish", subject)
    finally:
        await connection.close()
    reader = await nats.connect(endpoints["nats"], **connect_options(mesh))
    try:
        with pytest.raises(NotFoundError):
            await reader.jetstream().get_last_msg(STREAM, subject, direct=True)
    finally:
        await reader.close()


ForeignRead = Callable[[Client], Any]


async def _ordered_consumer(connection: Client) -> None:
    await connection.jetstream(timeout=3).subscribe(
        f"{contract.ROOT}.>", stream=STREAM, ordered_consumer=True
    )


async def _fetch_from_the_collectors_consumer(connection: Client) -> None:
    fetcher = await connection.jetstream(timeout=3).pull_subscribe_bind(REPORTS.name, STREAM)
    await fetcher.fetch(1, timeout=3)


@pytest.mark.parametrize(
    ("read", "refused"),
    [
        (_ordered_consumer, f"$js.api.consumer.create.{STREAM}"),
        (_fetch_from_the_collectors_consumer, f"$js.api.consumer.msg.next.{STREAM}.{REPORTS.name}"),
    ],
    ids=["a consumer of its own", "the collector's durable consumer"],
)
async def test_a_service_cannot_read_the_stream_through_a_foreign_consumer(
    stack: Stack, endpoints: dict[str, str], read: ForeignRead, refused: str
) -> None:
    refusals = Refusals()
    connection = await connected_as(stack, endpoints, "storage-broker", refusals)
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await read(connection)
        await refusals.named("permissions violation for publish", refused)
    finally:
        await connection.close()


async def test_a_service_cannot_listen_to_events_it_does_not_consume(
    stack: Stack, endpoints: dict[str, str]
) -> None:
    refusals = Refusals()
    connection = await connected_as(stack, endpoints, "storage-broker", refusals)
    try:
        await connection.subscribe(f"{contract.ROOT}.>")
        await connection.subscribe("_INBOX.>")  # other users' deliveries
        await connection.flush()
        await refusals.named("permissions violation for subscription", f"{contract.ROOT}.>")
        await refusals.named("permissions violation for subscription", "_inbox.>")
    finally:
        await connection.close()
