"""The gRPC side of the mesh, served for real by simpipe_common.grpc_server:
who gets in (TLS lets only certificates of the mesh's CA in, the allowlist
only the identities a service answers) and how much (message limits on both
ends of a call). The server is an argo-watcher whose answers a test chooses."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client import REGISTRY

from simpipe.v1 import (
    argo_watcher_pb2,
    argo_watcher_pb2_grpc,
    dry_runs_pb2,
    service_info_pb2,
    service_info_pb2_grpc,
)
from simpipe_common.errors import REASON_KEY
from simpipe_common.grpc_callers import ALLOWED_CALLERS
from simpipe_common.grpc_channel import channel_options, mesh_channel
from simpipe_common.grpc_server import GrpcRegistration, GrpcServer
from simpipe_common.mesh_pki import Authority
from simpipe_common.service_info import ServiceInfoServicer
from simpipe_common.settings import MIB, GrpcServiceSettings, ServiceSettings
from simpipe_common.testing import throwaway_mesh

WATCHER = "argo-watcher"
WATCHER_SERVICE = argo_watcher_pb2.DESCRIPTOR.services_by_name["ArgoWatcher"].full_name


class ChosenAnswers(argo_watcher_pb2_grpc.ArgoWatcherServicer):
    """Answers every GetDryRun with `answer` (two of it when watched)."""

    def __init__(self) -> None:
        self.answer = dry_runs_pb2.DryRun(id="run-1")

    async def GetDryRun(  # noqa: N802
        self, request: argo_watcher_pb2.GetDryRunRequest, context: Any
    ) -> dry_runs_pb2.DryRun:
        return self.answer

    async def WatchDryRun(  # noqa: N802
        self, request: argo_watcher_pb2.GetDryRunRequest, context: Any
    ) -> AsyncIterator[dry_runs_pb2.DryRun]:
        for _ in range(2):
            yield self.answer

    async def ListDryRuns(  # noqa: N802
        self, request: argo_watcher_pb2.ListDryRunsRequest, context: Any
    ) -> argo_watcher_pb2.ListDryRunsResponse:
        return argo_watcher_pb2.ListDryRunsResponse()

    async def GetStepLog(  # noqa: N802
        self, request: argo_watcher_pb2.GetStepLogRequest, context: Any
    ) -> argo_watcher_pb2.GetStepLogResponse:
        return argo_watcher_pb2.GetStepLogResponse()

    async def FollowStepLog(  # noqa: N802
        self, request: argo_watcher_pb2.GetStepLogRequest, context: Any
    ) -> AsyncIterator[argo_watcher_pb2.GetStepLogResponse]:
        yield argo_watcher_pb2.GetStepLogResponse()


def watcher_settings(**changes: Any) -> GrpcServiceSettings:
    """The argo-watcher's identity of the test run's CA, on a free loopback port."""
    tls = throwaway_mesh().settings(WATCHER)
    return GrpcServiceSettings(
        bind_host="127.0.0.1",
        grpc_port=0,
        tls_ca_file=tls.tls_ca_file,
        tls_cert_file=tls.tls_cert_file,
        tls_key_file=tls.tls_key_file,
        **changes,
    )


ServeWatcher = Callable[..., Awaitable[tuple[str, ChosenAnswers]]]


@pytest.fixture
async def serve_watcher() -> AsyncIterator[ServeWatcher]:
    """Starts argo-watchers with the given settings changes: (address, servicer)."""
    servers: list[GrpcServer] = []

    async def serve(**changes: Any) -> tuple[str, ChosenAnswers]:
        answers = ChosenAnswers()
        server = GrpcServer(
            WATCHER,
            watcher_settings(**changes),
            ServiceInfoServicer(WATCHER, "0", datetime.now(UTC), []),
            [
                GrpcRegistration(
                    WATCHER_SERVICE,
                    lambda s: argo_watcher_pb2_grpc.add_ArgoWatcherServicer_to_server(answers, s),
                )
            ],
        )
        port = await server.start()
        servers.append(server)
        return f"127.0.0.1:{port}", answers

    yield serve
    for server in servers:
        await server.stop(0)


@asynccontextmanager
async def watcher_stub(
    channel: grpc.aio.Channel,
) -> AsyncIterator["argo_watcher_pb2_grpc.ArgoWatcherAsyncStub"]:
    async with channel:
        yield argo_watcher_pb2_grpc.ArgoWatcherStub(channel)


REQUEST = argo_watcher_pb2.GetDryRunRequest(caller="alice", dry_run_id="run-1")


# Who gets in.


def denied_calls(caller: str) -> float:
    return REGISTRY.get_sample_value("simpipe_grpc_calls_denied_total", {"caller": caller}) or 0.0


def as_identity(address: str, identity: str) -> grpc.aio.Channel:
    return mesh_channel(address, throwaway_mesh().settings(identity))


@pytest.mark.parametrize("caller", sorted(ALLOWED_CALLERS["argo-watcher"]))
async def test_an_allowed_service_is_answered(serve_watcher: ServeWatcher, caller: str) -> None:
    address, _ = await serve_watcher()
    async with watcher_stub(as_identity(address, caller)) as watcher:
        found = await watcher.GetDryRun(REQUEST, timeout=10)
        watched = [run.id async for run in watcher.WatchDryRun(REQUEST, timeout=10)]
    assert (found.id, watched) == ("run-1", ["run-1", "run-1"])


@pytest.mark.parametrize("caller", ["storage-broker", "workflow-submitter", "tests"])
async def test_another_identity_of_the_mesh_is_denied(
    serve_watcher: ServeWatcher, caller: str
) -> None:
    address, _ = await serve_watcher()
    denied_before = denied_calls(caller)
    async with watcher_stub(as_identity(address, caller)) as watcher:
        with pytest.raises(grpc.aio.AioRpcError) as unary:
            await watcher.GetDryRun(REQUEST, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as streamed:
            await watcher.WatchDryRun(REQUEST, timeout=10).read()
    for refused in (unary.value, streamed.value):
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
        assert f"{caller} may not call the argo-watcher" in (refused.details() or "")
        assert dict(refused.trailing_metadata() or ())[REASON_KEY] == "permission-denied"
    assert denied_calls(caller) == denied_before + 2


async def test_extra_callers_are_answered_too(serve_watcher: ServeWatcher) -> None:
    address, _ = await serve_watcher(grpc_extra_callers=frozenset({"tests"}))
    async with watcher_stub(as_identity(address, "tests")) as watcher:
        assert (await watcher.GetDryRun(REQUEST, timeout=10)).id == "run-1"


async def test_health_and_service_info_answer_any_identity_of_the_mesh(
    serve_watcher: ServeWatcher,
) -> None:
    address, _ = await serve_watcher()
    async with as_identity(address, "storage-broker") as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        health = await check(health_pb2.HealthCheckRequest(), timeout=10)
        info = await service_info_pb2_grpc.ServiceInfoStub(channel).GetInfo(
            service_info_pb2.GetInfoRequest(), timeout=10
        )
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert info.service == "argo-watcher"


async def unavailable(channel: grpc.aio.Channel) -> grpc.StatusCode:
    """What a call on `channel` ends with: the handshake fails before any RPC."""
    async with watcher_stub(channel) as watcher:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await watcher.GetDryRun(REQUEST, timeout=10)
    return refused.value.code()


async def test_a_caller_without_a_client_certificate_is_refused(
    serve_watcher: ServeWatcher,
) -> None:
    address, _ = await serve_watcher()
    ca = throwaway_mesh().authority.cert_pem
    no_cert = grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(ca))
    assert await unavailable(no_cert) == grpc.StatusCode.UNAVAILABLE
    plaintext = grpc.aio.insecure_channel(address)
    assert await unavailable(plaintext) == grpc.StatusCode.UNAVAILABLE
    insecure = mesh_channel(address, ServiceSettings(mesh_insecure=True))
    assert await unavailable(insecure) == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_of_another_ca_is_refused(serve_watcher: ServeWatcher) -> None:
    address, _ = await serve_watcher()
    impostor = Authority.create().issue("gateway")
    ca = throwaway_mesh().authority.cert_pem
    credentials = grpc.ssl_channel_credentials(ca, impostor.key_pem, impostor.cert_pem)
    assert await unavailable(grpc.aio.secure_channel(address, credentials)) == (
        grpc.StatusCode.UNAVAILABLE
    )


async def test_a_server_of_another_ca_is_not_trusted(serve_watcher: ServeWatcher) -> None:
    """The client checks the server too: a gateway does not talk to an impostor."""
    address, _ = await serve_watcher()
    gateway = throwaway_mesh().settings("gateway")
    other_ca = Authority.create()
    other_ca_file = throwaway_mesh().path / "other-ca.pem"
    other_ca_file.write_bytes(other_ca.cert_pem)
    trusting_another_ca = gateway.model_copy(update={"tls_ca_file": other_ca_file})
    assert await unavailable(mesh_channel(address, trusting_another_ca)) == (
        grpc.StatusCode.UNAVAILABLE
    )


# How much.


def gateway(**changes: object) -> ServiceSettings:
    return throwaway_mesh().settings("gateway").model_copy(update=changes)


def test_a_channel_sends_requests_and_takes_answers_up_to_its_limits() -> None:
    assert ServiceSettings().grpc_max_request_bytes == ServiceSettings().grpc_max_answer_bytes
    settings = ServiceSettings(grpc_max_request_bytes=1 * MIB, grpc_max_answer_bytes=16 * MIB)
    assert dict(channel_options(settings)) == {
        "grpc.max_send_message_length": 1 * MIB,
        "grpc.max_receive_message_length": 16 * MIB,
    }


def answer_of(size: int) -> dry_runs_pb2.DryRun:
    return dry_runs_pb2.DryRun(id="run-1", argo_workflow_json="x" * size)


async def code_of_call(address: str, caller: ServiceSettings, request: object = REQUEST) -> str:
    async with watcher_stub(mesh_channel(address, caller)) as watcher:
        try:
            await watcher.GetDryRun(request, timeout=10)  # type: ignore[arg-type]
        except grpc.aio.AioRpcError as error:
            return error.code().name
    return "OK"


async def test_an_answer_within_both_limits_arrives(serve_watcher: ServeWatcher) -> None:
    address, answers = await serve_watcher(grpc_max_answer_bytes=2 * MIB)
    answers.answer = answer_of(MIB)
    assert await code_of_call(address, gateway(grpc_max_answer_bytes=2 * MIB)) == "OK"


async def test_a_server_does_not_send_an_answer_beyond_its_limit(
    serve_watcher: ServeWatcher,
) -> None:
    address, answers = await serve_watcher(grpc_max_answer_bytes=MIB)
    answers.answer = answer_of(MIB + 1)
    assert await code_of_call(address, gateway(grpc_max_answer_bytes=16 * MIB)) == (
        "RESOURCE_EXHAUSTED"
    )


async def test_a_caller_does_not_take_an_answer_beyond_its_limit(
    serve_watcher: ServeWatcher,
) -> None:
    address, answers = await serve_watcher(grpc_max_answer_bytes=16 * MIB)
    answers.answer = answer_of(MIB + 1)
    assert await code_of_call(address, gateway(grpc_max_answer_bytes=MIB)) == ("RESOURCE_EXHAUSTED")


@pytest.mark.parametrize(
    ("server_takes", "caller_sends", "code"),
    [(MIB, 4 * MIB, "RESOURCE_EXHAUSTED"), (4 * MIB, MIB, "RESOURCE_EXHAUSTED")],
    ids=["beyond the server's limit", "beyond the caller's limit"],
)
async def test_a_request_beyond_a_limit_is_refused(
    serve_watcher: ServeWatcher, server_takes: int, caller_sends: int, code: str
) -> None:
    address, _ = await serve_watcher(grpc_max_request_bytes=server_takes)
    big = argo_watcher_pb2.GetDryRunRequest(caller="alice", dry_run_id="x" * (2 * MIB))
    assert await code_of_call(address, gateway(grpc_max_request_bytes=caller_sends), big) == code


def handled(method: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "simpipe_grpc_server_handling_seconds_count", {"method": method, "outcome": outcome}
        )
        or 0.0
    )


async def test_every_call_is_counted_and_timed_by_method_and_outcome(
    serve_watcher: ServeWatcher,
) -> None:
    get, watch = "/simpipe.v1.ArgoWatcher/GetDryRun", "/simpipe.v1.ArgoWatcher/WatchDryRun"
    before = {key: handled(*key) for key in ((get, "ok"), (watch, "ok"), (get, "error"))}
    address, _ = await serve_watcher()
    async with watcher_stub(as_identity(address, "gateway")) as watcher:
        await watcher.GetDryRun(REQUEST, timeout=10)
        assert len([run async for run in watcher.WatchDryRun(REQUEST, timeout=10)]) == 2
    async with watcher_stub(as_identity(address, "storage-broker")) as refused:
        with pytest.raises(grpc.aio.AioRpcError):
            await refused.GetDryRun(REQUEST, timeout=10)
    assert handled(get, "ok") == before[(get, "ok")] + 1
    assert handled(watch, "ok") == before[(watch, "ok")] + 1
    # A refusal is an error of the method it was for.
    assert handled(get, "error") == before[(get, "error")] + 1
