"""SIM-PIPE kwok-scaler: virtual clusters of KWOK nodes, simulations and their results."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog

from simpipe.v1 import (
    argo_watcher_pb2_grpc,
    kwok_scaler_pb2,
    kwok_scaler_pb2_grpc,
    metrics_collector_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe_common.checks import nats_check
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.kube import kubernetes_check
from simpipe_common.nats_auth import connect_options
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check, s3_client
from simpipe_kwok_scaler.clusters import Kube, VirtualClusters
from simpipe_kwok_scaler.clusters.scrape_discovery import ScrapeDiscovery
from simpipe_kwok_scaler.config import KwokScalerSettings
from simpipe_kwok_scaler.emulation import run_emulation
from simpipe_kwok_scaler.server import KwokScalerApi
from simpipe_kwok_scaler.simulations import Simulations

SERVICE_NAME = kwok_scaler_pb2.DESCRIPTOR.services_by_name["KwokScaler"].full_name

log = structlog.get_logger(__name__)


# How long a failed piece of background work waits before it starts again,
# at most (doubling from a second).
MAX_RESTART_SECONDS = 30.0


async def supervised(name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs `work` until it returns, starting it again after a failure: a
    bug or an outage in one part (emulation, the simulation watches) must
    neither take the clusters' RPCs down nor leave that part stopped, since
    simulations would then wait for events nobody observes."""
    delay = 1.0
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background work failed; starting it again", work=name, after=delay)
        await asyncio.sleep(delay)
        delay = min(2 * delay, MAX_RESTART_SECONDS)


def main() -> None:
    settings = KwokScalerSettings()
    # httpx logs every request at INFO: a line per node of a new cluster.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    timeout = settings.check_timeout_seconds
    event_broker = EventBroker(settings, "kwok-scaler")
    discovery = ScrapeDiscovery()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        kube = Kube(
            settings.kubeconfig, settings.node_write_concurrency, settings.kube_timeout_seconds
        )
        clusters = VirtualClusters(settings, kube)
        discovery.clusters = clusters
        tasks: list[asyncio.Task[None]] = []
        async with AsyncExitStack() as stack:
            stack.callback(kube.close)
            stack.push_async_callback(clusters.aclose)
            s3 = await stack.enter_async_context(s3_client(settings, settings.s3_timeout_seconds))
            # Only signs report URLs, for the endpoint their readers reach.
            signer = await stack.enter_async_context(
                s3_client(settings, settings.s3_timeout_seconds, settings.presign_endpoint)
            )
            channels = {
                name: mesh_channel(address, settings)
                for name, address in (
                    ("submitter", settings.workflow_submitter_addr),
                    ("collector", settings.metrics_collector_addr),
                    ("watcher", settings.argo_watcher_addr),
                )
            }
            for channel in channels.values():
                stack.push_async_callback(channel.close)
            await stack.enter_async_context(event_broker.running())
            simulations = Simulations(
                settings,
                kube=kube.api_client,
                submitter=workflow_submitter_pb2_grpc.WorkflowSubmitterStub(channels["submitter"]),
                collector=metrics_collector_pb2_grpc.MetricsCollectorStub(channels["collector"]),
                watcher=argo_watcher_pb2_grpc.ArgoWatcherStub(channels["watcher"]),
                publisher=event_broker.publisher,
                s3=s3,
                signer=signer,
            )
            api = KwokScalerApi(clusters, simulations)
            tasks = [
                asyncio.create_task(supervised("virtual clusters", clusters.reconcile_all)),
                asyncio.create_task(supervised("simulations", simulations.run)),
                asyncio.create_task(
                    supervised("executor emulation", lambda: run_emulation(settings))
                ),
            ]
            try:
                yield [
                    GrpcRegistration(
                        SERVICE_NAME,
                        lambda server: kwok_scaler_pb2_grpc.add_KwokScalerServicer_to_server(
                            api, server
                        ),
                    )
                ]
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    run_service(
        Service(
            name="kwok-scaler",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout, connect_options(settings)),
                kubernetes_check(settings.kubeconfig, timeout),
                s3_check(settings, timeout),
                event_broker.check,
            ],
            starting=[event_broker.ready],
            http_routes=discovery.routes(),
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
