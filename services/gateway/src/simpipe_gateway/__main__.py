from strawberry.asgi import GraphQL

from simpipe_common.runner import Service, run_service
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import schema


def main() -> None:
    run_service(
        Service(
            name="gateway",
            settings=GatewaySettings(),
            http_routes={"/graphql": GraphQL(schema)},
        )
    )


if __name__ == "__main__":
    main()
