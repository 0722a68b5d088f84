"""simpipe.v1.ServiceInfo, served by every gRPC service."""

import asyncio
from collections.abc import Sequence
from datetime import datetime

import grpc

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_common.checks import Check


class ServiceInfoServicer(service_info_pb2_grpc.ServiceInfoServicer):
    def __init__(
        self, service: str, version: str, started_at: datetime, dependencies: Sequence[Check]
    ) -> None:
        self._service = service
        self._version = version
        self._started_at = started_at
        self._dependencies = dependencies

    async def GetInfo(  # noqa: N802 (gRPC names its handlers after the proto rpcs)
        self,
        request: service_info_pb2.GetInfoRequest,
        context: grpc.aio.ServicerContext[
            service_info_pb2.GetInfoRequest, service_info_pb2.ServiceInfoResponse
        ],
    ) -> service_info_pb2.ServiceInfoResponse:
        results = await asyncio.gather(*(check() for check in self._dependencies))
        response = service_info_pb2.ServiceInfoResponse(
            service=self._service,
            version=self._version,
            dependencies=[
                service_info_pb2.DependencyCheck(name=r.name, ok=r.ok, detail=r.detail)
                for r in results
            ],
        )
        response.started_at.FromDatetime(self._started_at)
        return response
