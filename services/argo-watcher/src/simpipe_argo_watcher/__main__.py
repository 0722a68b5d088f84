import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from simpipe.v1 import argo_watcher_pb2, argo_watcher_pb2_grpc
from simpipe_argo_watcher.api import ArgoWatcherApi
from simpipe_argo_watcher.archive import ArgoArchive
from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_argo_watcher.leader import LeaseElection
from simpipe_argo_watcher.live_workflows import LiveWorkflows
from simpipe_argo_watcher.logs import StepLogs
from simpipe_argo_watcher.publisher import Publisher
from simpipe_argo_watcher.read_model import ReadModel
from simpipe_argo_watcher.sync import Item, ModelSync
from simpipe_argo_watcher.watch import WorkflowWatch
from simpipe_common.argo_auth import ArgoToken
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.kube import argo_cluster_checks, lazy_api_client
from simpipe_common.runner import Service, run_service

SERVICE_NAME = argo_watcher_pb2.DESCRIPTOR.services_by_name["ArgoWatcher"].full_name


def main() -> None:
    settings = ArgoWatcherSettings()
    kube = lazy_api_client(settings.kubeconfig)
    event_broker = EventBroker(settings, "argo-watcher")

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        async with event_broker.running():
            model = ReadModel(settings.artifact_bucket, settings.run_namespaces)
            items: asyncio.Queue[Item] = asyncio.Queue()
            publisher = Publisher(
                event_broker.publisher, lambda: event_broker.broker.connection.jetstream()
            )
            sync = ModelSync(model, publisher, items)
            # One watch per namespace runs live in: the service may read only those.
            watches = [
                WorkflowWatch(
                    kube,
                    namespace,
                    settings.watch_timeout_seconds,
                    asyncio.get_running_loop(),
                    items.put_nowait,
                )
                for namespace in settings.run_namespaces
            ]
            election = LeaseElection(
                kube, settings.namespace, settings.leader_lease_name,
                settings.leader_lease_seconds, sync.set_leader,
            )  # fmt: skip
            archive = ArgoArchive(
                settings.argo_server_url, settings.run_namespaces, settings.argo_timeout_seconds,
                ArgoToken(settings.argo_token_file),
            )  # fmt: skip
            api = ArgoWatcherApi(
                model, archive, StepLogs(kube, settings.namespace, archive),
                settings.initial_sync_timeout_seconds,
                LiveWorkflows(kube, settings.run_namespaces, settings.argo_timeout_seconds),
            )  # fmt: skip
            for watch in watches:
                watch.start()
            tasks = [asyncio.create_task(sync.run()), asyncio.create_task(election.run())]
            try:
                yield [
                    GrpcRegistration(
                        SERVICE_NAME,
                        lambda server: argo_watcher_pb2_grpc.add_ArgoWatcherServicer_to_server(
                            api, server
                        ),
                    )
                ]
            finally:
                for watch in watches:
                    watch.stop()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await election.release()
                await archive.close()

    run_service(
        Service(
            name="argo-watcher",
            settings=settings,
            dependencies=[*argo_cluster_checks(settings), event_broker.check],
            starting=[event_broker.ready],
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
