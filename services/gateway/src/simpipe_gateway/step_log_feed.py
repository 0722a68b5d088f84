"""A step's log followed live (the web GUI's log pane): the argo-watcher's
FollowStepLog stream, passed on batch by batch while the caller's
credential holds (subscription_guard). The watcher checks the run is the
caller's; each batch is tagged with the caller as its owner for the guard."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import grpc
import strawberry

from simpipe.v1 import argo_watcher_pb2
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import from_rpc_error
from simpipe_gateway.input_bounds import MAX_LOG_LINES, bounded_int
from simpipe_gateway.subscription_guard import while_authorized

# A step's log is followed at most this long (then the subscription ends;
# a client subscribes again, with maxLines 0, to go on).
MAX_FOLLOW_SECONDS = 6 * 3600


@strawberry.type(description="Lines of a step's log, in order.")
class StepLogLines:
    lines: list[str]


@dataclass(frozen=True)
class _Owner:
    owner: str


@dataclass(frozen=True)
class _Batch:
    payload: _Owner
    lines: list[str]


async def _batches(
    info: GatewayInfo, owner: str, request: argo_watcher_pb2.GetStepLogRequest
) -> AsyncGenerator[_Batch, None]:
    call = gateway(info).watcher.FollowStepLog(request, timeout=MAX_FOLLOW_SECONDS)
    try:
        async for message in call:
            yield _Batch(_Owner(owner), list(message.lines))
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise from_rpc_error(error) from None
    finally:
        call.cancel()


@strawberry.type
class StepLogSubscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="A step's log as it is written: its last maxLines lines so far (0: all, the"
        f" default {MAX_LOG_LINES}), then new lines as they come, until the step's container ends."
    )
    async def dry_run_step_log(
        self, info: GatewayInfo, dry_run_id: str, node_id: str, max_lines: int | None = None
    ) -> AsyncGenerator[StepLogLines, None]:
        bounded_int(max_lines, "maxLines", 0, MAX_LOG_LINES)
        owner = await caller(info)
        request = argo_watcher_pb2.GetStepLogRequest(
            caller=owner,
            dry_run_id=dry_run_id,
            node_id=node_id,
            max_lines=MAX_LOG_LINES if max_lines is None else max_lines,
        )
        async for batch in while_authorized(info, _batches(info, owner, request)):
            yield StepLogLines(lines=batch.lines)
