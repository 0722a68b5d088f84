"""The argo-watcher, asked which runs a caller may see: their steps, pods and
times. The collector keeps no run state of its own."""

from typing import TYPE_CHECKING

import grpc

from simpipe.v1 import argo_watcher_pb2, argo_watcher_pb2_grpc, dry_runs_pb2
from simpipe_common.errors import InvalidInputError, NotFoundError, UnavailableError
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings

if TYPE_CHECKING:
    from simpipe.v1.argo_watcher_pb2_grpc import ArgoWatcherAsyncStub

# The watcher's typed failures pass through as ours; anything else means it
# could not answer.
_PASSED_ON = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInputError,
}


class Watcher:
    def __init__(self, address: str, timeout: float, settings: ServiceSettings) -> None:
        self._address = address
        self._timeout = timeout
        # The collector's mesh identity: the watcher answers it.
        self._settings = settings
        self._channel: grpc.aio.Channel | None = None
        self._stub: ArgoWatcherAsyncStub | None = None

    def _watcher(self) -> "ArgoWatcherAsyncStub":
        # An aio channel belongs to the running loop: made on first use.
        if self._stub is None:
            self._channel = mesh_channel(self._address, self._settings)
            self._stub = argo_watcher_pb2_grpc.ArgoWatcherStub(self._channel)
        return self._stub

    async def dry_run(self, caller: str, dry_run_id: str) -> dry_runs_pb2.DryRun:
        request = argo_watcher_pb2.GetDryRunRequest(caller=caller, dry_run_id=dry_run_id)
        try:
            return await self._watcher().GetDryRun(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            passed_on = _PASSED_ON.get(error.code())
            if passed_on is not None:
                raise passed_on(error.details() or "") from None
            raise UnavailableError(
                f"the argo-watcher at {self._address} did not answer: "
                f"{error.code().name} {error.details()}"
            ) from None

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
