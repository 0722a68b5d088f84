"""Which mesh identity may call which service over gRPC.

TLS has checked the caller's certificate against the mesh's CA before a
request arrives; its common name says which service (or tool) it is, and
this allowlist says whom each service answers. The `caller` field in a
request (the end user) is trusted only because the gateway, which sets it,
proved who it is here. Health, ServiceInfo and reflection answer any peer
the CA vouches for: they tell nothing a member of the mesh may not know.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import grpc
import structlog
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter

from simpipe.v1 import service_info_pb2
from simpipe_common.errors import PermissionDeniedError, abort

log = structlog.get_logger(__name__)

# Each service's callers: what the architecture has them call (DESIGN.md's
# "talks to"; simulations go through the workflow-submitter).
ALLOWED_CALLERS: Final[Mapping[str, frozenset[str]]] = {
    "workflow-submitter": frozenset({"gateway", "kwok-scaler"}),
    # The kwok-scaler: a simulated run's steps (GetDryRun).
    "argo-watcher": frozenset({"gateway", "metrics-collector", "kwok-scaler"}),
    "metrics-collector": frozenset({"gateway", "kwok-scaler"}),
    # The workflow-submitter: each project's credentials (IssueProjectCredentials).
    "storage-broker": frozenset({"gateway", "workflow-submitter"}),
    "kwok-scaler": frozenset({"gateway"}),
}

SERVICE_INFO: Final = service_info_pb2.DESCRIPTOR.services_by_name["ServiceInfo"].full_name
OPEN_TO_PEERS: Final = frozenset({health.SERVICE_NAME, SERVICE_INFO, reflection.SERVICE_NAME})

# The auth context key of the peer certificate's common name (gRPC core's
# GRPC_X509_CN_PROPERTY_NAME).
COMMON_NAME_KEY: Final = "x509_common_name"

DENIED = Counter(
    "simpipe_grpc_calls_denied_total",
    "gRPC calls refused because the calling identity may not call this service",
    ["caller"],
)

Context = grpc.aio.ServicerContext[Any, Any]


def caller_identity(context: Context) -> str:
    """The common name of the peer's certificate ("" without one)."""
    names = list(context.auth_context().get(COMMON_NAME_KEY) or ())
    return names[0].decode("utf-8", "replace") if names else ""


def _service_of(method: str) -> str:
    """'simpipe.v1.ArgoWatcher' of '/simpipe.v1.ArgoWatcher/GetDryRun'."""
    return method.lstrip("/").partition("/")[0]


class CallerAllowlist(grpc.aio.ServerInterceptor):
    """Refuses, as PERMISSION_DENIED, calls of the service's own methods by
    identities not in `allowed`."""

    def __init__(self, service: str, allowed: frozenset[str]) -> None:
        self.service = service
        self.allowed = allowed

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or _service_of(handler_call_details.method) in OPEN_TO_PEERS:
            return handler
        return _guarded(handler, self._checked(handler_call_details.method))

    def _checked(self, method: str) -> Callable[[Context], Awaitable[None]]:
        async def check(context: Context) -> None:
            caller = caller_identity(context)
            if caller in self.allowed:
                return
            DENIED.labels(caller=caller or "-").inc()
            log.warning("gRPC call refused", caller=caller or None, method=method)
            await abort(
                context,
                PermissionDeniedError(
                    f"{caller or 'a caller without a name'} may not call the {self.service}"
                ),
            )

        return check


def handler_parts(
    handler: grpc.RpcMethodHandler[Any, Any],
) -> tuple[Any, Callable[..., grpc.RpcMethodHandler[Any, Any]]]:
    """A handler's behaviour and the function that makes a handler of its
    kind again (for interceptors that wrap the behaviour)."""
    make: Callable[..., grpc.RpcMethodHandler[Any, Any]]
    if handler.unary_unary is not None:
        behaviour: Any = handler.unary_unary
        make = grpc.unary_unary_rpc_method_handler
    elif handler.unary_stream is not None:
        behaviour = handler.unary_stream
        make = grpc.unary_stream_rpc_method_handler
    elif handler.stream_unary is not None:
        behaviour = handler.stream_unary
        make = grpc.stream_unary_rpc_method_handler
    else:
        behaviour = handler.stream_stream
        make = grpc.stream_stream_rpc_method_handler
    return behaviour, make


def _guarded(
    handler: grpc.RpcMethodHandler[Any, Any], check: Callable[[Context], Awaitable[None]]
) -> grpc.RpcMethodHandler[Any, Any]:
    """The same handler, running `check` before its behaviour. The context
    (and so the peer's certificate) is only known to the behaviour itself."""
    behaviour, make = handler_parts(handler)
    guarded: Any
    if inspect.isasyncgenfunction(behaviour):
        # Streams answered by `yield`: the guard yields what they yield.
        async def streamed(request: Any, context: Context) -> AsyncIterator[Any]:
            await check(context)
            async for answer in behaviour(request, context):
                yield answer

        guarded = streamed
    else:
        # Unary answers, and streams written with context.write.
        async def awaited(request: Any, context: Context) -> Any:
            await check(context)
            return await behaviour(request, context)

        guarded = awaited
    return make(guarded, handler.request_deserializer, handler.response_serializer)
