"""What every resolver reaches: the services' clients and the caller."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from strawberry.types import Info

from simpipe.v1 import (
    argo_watcher_pb2_grpc,
    metrics_collector_pb2_grpc,
    storage_broker_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe_common.errors import ServiceError, UnauthenticatedError
from simpipe_gateway.auth import Authenticator
from simpipe_gateway.errors import from_service_error
from simpipe_gateway.run_feed import RunFeed

if TYPE_CHECKING:
    # Only in the generated stubs: what a stub on an aio channel is.
    from simpipe.v1.argo_watcher_pb2_grpc import ArgoWatcherAsyncStub
    from simpipe.v1.metrics_collector_pb2_grpc import MetricsCollectorAsyncStub
    from simpipe.v1.storage_broker_pb2_grpc import StorageBrokerAsyncStub
    from simpipe.v1.workflow_submitter_pb2_grpc import WorkflowSubmitterAsyncStub


@dataclass
class Gateway:
    """Process-wide: one channel per service, shared by all requests."""

    authenticator: Authenticator
    submitter: "WorkflowSubmitterAsyncStub"
    watcher: "ArgoWatcherAsyncStub"
    storage: "StorageBrokerAsyncStub"
    metrics: "MetricsCollectorAsyncStub"
    run_feed: RunFeed

    @classmethod
    def connect(
        cls,
        authenticator: Authenticator,
        submitter_addr: str,
        watcher_addr: str,
        storage_addr: str,
        metrics_addr: str,
        run_feed: RunFeed,
    ) -> "Gateway":
        return cls(
            authenticator=authenticator,
            submitter=workflow_submitter_pb2_grpc.WorkflowSubmitterStub(
                grpc.aio.insecure_channel(submitter_addr)
            ),
            watcher=argo_watcher_pb2_grpc.ArgoWatcherStub(grpc.aio.insecure_channel(watcher_addr)),
            storage=storage_broker_pb2_grpc.StorageBrokerStub(
                grpc.aio.insecure_channel(storage_addr)
            ),
            metrics=metrics_collector_pb2_grpc.MetricsCollectorStub(
                grpc.aio.insecure_channel(metrics_addr)
            ),
            run_feed=run_feed,
        )


GatewayInfo = Info[dict[str, Any], None]


def gateway(info: GatewayInfo) -> Gateway:
    found: Gateway = info.context["gateway"]
    return found


def _authorization(context: dict[str, Any]) -> str | None:
    # Over websockets, clients send the token in connection_init's payload.
    params = context.get("connection_params")
    if isinstance(params, dict):
        for key in ("Authorization", "authorization"):
            if isinstance(params.get(key), str):
                return str(params[key])
    request = context.get("request")
    value = request.headers.get("authorization") if request is not None else None
    return str(value) if value else None


async def optional_caller(info: GatewayInfo) -> str | None:
    context = info.context
    if "user" not in context:
        try:
            context["user"] = await gateway(info).authenticator.user(_authorization(context))
        except ServiceError as error:
            raise from_service_error(error) from None
    user: str | None = context["user"]
    return user


async def caller(info: GatewayInfo) -> str:
    """The authenticated caller; every mutation and private query needs one."""
    user = await optional_caller(info)
    if user is None:
        raise from_service_error(
            UnauthenticatedError("authentication required: send 'Authorization: Bearer <token>'")
        )
    return user
