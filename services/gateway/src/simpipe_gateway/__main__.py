from simpipe_common.runner import Service, run_service
from simpipe_gateway.app import GraphQLApp
from simpipe_gateway.config import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    run_service(
        Service(name="gateway", settings=settings, http_routes={"/graphql": GraphQLApp(settings)})
    )


if __name__ == "__main__":
    main()
