import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pydantic import ValidationError

from simpipe_common.checks import CheckResult
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.runner import Service, run_service
from simpipe_gateway.access_tokens import AccessTokenStore
from simpipe_gateway.app import GraphQLApp
from simpipe_gateway.asyncapi_route import AsyncApiDocument
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.cors import parse_origins, with_cors
from simpipe_gateway.oidc_sign_in import OidcSignIn
from simpipe_gateway.run_feed import RunFeed
from simpipe_gateway.simulation_feed import SimulationFeed
from simpipe_gateway.token_watch import SecretsApi, TokenWatch
from simpipe_gateway.web_files import WebFiles


def main() -> None:
    try:
        settings = GatewaySettings()
    except ValidationError as error:
        # What is wrong, said once, without a traceback: exit 2, as for a StartupError.
        for problem in error.errors():
            print(f"gateway cannot start: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    events = EventBroker(settings, "gateway")
    run_feed = RunFeed(events)
    simulation_feed = SimulationFeed(events)
    secrets = SecretsApi.of_cluster(settings.kubeconfig, settings.services_namespace)
    tokens = AccessTokenStore(
        secrets,
        max_days=settings.max_access_token_days,
        default_days=settings.default_access_token_days,
        max_per_user=settings.max_access_tokens_per_user,
    )

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        watch = TokenWatch(secrets, tokens, asyncio.get_running_loop())
        watch.start()
        try:
            async with events.running():
                # What starting made lives as long as the process: the garbage
                # collector need not go through it again. A query for a run's
                # metrics makes objects by the sample, and the full collections
                # they set off went through all of it (py-spy showed them).
                gc.freeze()
                yield ()
        finally:
            watch.stop()

    async def tokens_loaded() -> CheckResult:
        loaded = tokens.synced.is_set()
        return CheckResult("access-tokens", loaded, "loaded" if loaded else "listing the Secrets")

    graphql = GraphQLApp(settings, run_feed, tokens, simulation_feed)
    oidc = OidcSignIn(settings, graphql.authenticator)
    run_service(
        Service(
            name="gateway",
            settings=settings,
            http_routes={
                "/graphql": with_cors(graphql, parse_origins(settings.cors_allowed_origins)),
                "/asyncapi.json": AsyncApiDocument(settings.events_url or settings.nats_url),
                "/auth/oidc": oidc.settings_route,
                "/auth/oidc/token": oidc.token_route,
            },
            http_fallback=(
                WebFiles(settings.web_dir, parse_origins(settings.web_connect_sources))
                if settings.web_dir
                else None
            ),
            dependencies=[events.check],
            starting=[events.ready, tokens_loaded],
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
