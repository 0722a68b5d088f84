"""A document's text bounded before it is parsed: graphql-core's parser (pure
Python) costs CPU for every token, so a client that sends large
documents back to back would hold the gateway's CPU even though each is
refused (MaxTokensLimiter only stops the parser once it has counted that far).
The original SIM-PIPE GUI's largest operation is a few KiB."""

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from simpipe_gateway.errors import QUERY_TOO_COMPLEX


class QueryLengthLimiter(SchemaExtension):
    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        if len(query) > self.max_chars:
            raise GraphQLError(
                f"the document is {len(query)} characters; the limit is {self.max_chars}",
                extensions={"code": QUERY_TOO_COMPLEX},
            )
        yield
