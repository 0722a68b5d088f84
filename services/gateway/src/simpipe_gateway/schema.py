"""The GraphQL schema: names follow the SIM-PIPE controller API, so its GUI and
scripts keep working."""

import strawberry


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"

    # The signed-in user's name; null until the gateway authenticates requests.
    @strawberry.field
    def username(self) -> str | None:
        return None


schema = strawberry.Schema(query=Query)
