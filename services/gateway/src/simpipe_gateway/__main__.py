from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.runner import Service, run_service
from simpipe_gateway.app import GraphQLApp
from simpipe_gateway.asyncapi_route import AsyncApiDocument
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_feed import RunFeed


def main() -> None:
    settings = GatewaySettings()
    events = EventBroker(settings, "gateway")
    run_feed = RunFeed(events)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        async with events.running():
            yield ()

    run_service(
        Service(
            name="gateway",
            settings=settings,
            http_routes={
                "/graphql": GraphQLApp(settings, run_feed),
                "/asyncapi.json": AsyncApiDocument(settings.events_url or settings.nats_url),
            },
            dependencies=[events.check],
            starting=[events.ready],
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
