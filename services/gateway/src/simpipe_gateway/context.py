"""What every resolver reaches: the services' clients and the caller."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strawberry.types import Info

from simpipe.v1 import (
    argo_watcher_pb2_grpc,
    kwok_scaler_pb2_grpc,
    metrics_collector_pb2_grpc,
    storage_broker_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe_common.energy import EnergyModel
from simpipe_common.errors import ServiceError, UnauthenticatedError
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings
from simpipe_gateway.auth import Authenticator, Caller
from simpipe_gateway.errors import from_service_error
from simpipe_gateway.run_feed import RunFeed
from simpipe_gateway.simulation_feed import SimulationFeed

if TYPE_CHECKING:
    # Only in the generated stubs: what a stub on an aio channel is.
    from simpipe.v1.argo_watcher_pb2_grpc import ArgoWatcherAsyncStub
    from simpipe.v1.kwok_scaler_pb2_grpc import KwokScalerAsyncStub
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
    scaler: "KwokScalerAsyncStub"
    run_feed: RunFeed
    simulation_feed: SimulationFeed
    # The power model of energy estimates the gateway makes itself.
    energy: EnergyModel

    @classmethod
    def connect(
        cls,
        authenticator: Authenticator,
        submitter_addr: str,
        watcher_addr: str,
        storage_addr: str,
        metrics_addr: str,
        scaler_addr: str,
        run_feed: RunFeed,
        simulation_feed: SimulationFeed,
        settings: ServiceSettings,
        energy: EnergyModel,
    ) -> "Gateway":
        """Channels with the gateway's mesh identity (settings' TLS files):
        the services answer the gateway, and trust the caller it names."""
        return cls(
            authenticator=authenticator,
            submitter=workflow_submitter_pb2_grpc.WorkflowSubmitterStub(
                mesh_channel(submitter_addr, settings)
            ),
            watcher=argo_watcher_pb2_grpc.ArgoWatcherStub(mesh_channel(watcher_addr, settings)),
            storage=storage_broker_pb2_grpc.StorageBrokerStub(mesh_channel(storage_addr, settings)),
            metrics=metrics_collector_pb2_grpc.MetricsCollectorStub(
                mesh_channel(metrics_addr, settings)
            ),
            scaler=kwok_scaler_pb2_grpc.KwokScalerStub(mesh_channel(scaler_addr, settings)),
            run_feed=run_feed,
            simulation_feed=simulation_feed,
            energy=energy,
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


async def credential(info: GatewayInfo) -> Caller | None:
    """Who calls, checked again on every use: over a websocket the context
    (and so the caller found first) serves every operation of the
    connection, and its credential may be revoked or expire meanwhile."""
    context = info.context
    try:
        if "caller" not in context:
            context["caller"] = await gateway(info).authenticator.caller(_authorization(context))
        found: Caller | None = context["caller"]
        if (
            found is not None
            and found.may_lapse
            and not gateway(info).authenticator.still_valid(found)
        ):
            raise UnauthenticatedError("the credential was revoked or has expired")
    except ServiceError as error:
        raise from_service_error(error) from None
    return found


async def optional_caller(info: GatewayInfo) -> str | None:
    found = await credential(info)
    return None if found is None else found.name


async def caller(info: GatewayInfo) -> str:
    """The authenticated caller's name; every mutation and private query needs one."""
    user = await optional_caller(info)
    if user is None:
        raise from_service_error(
            UnauthenticatedError("authentication required: send 'Authorization: Bearer <token>'")
        )
    return user
