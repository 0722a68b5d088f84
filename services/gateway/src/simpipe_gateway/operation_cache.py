"""Parsed and validated operations, kept for the texts clients repeat.

The GUI, scripts and `make demo` send the same few operation texts over and
over; parsing and validating them again was a large part of a mutation's
time in the gateway. Only short texts are kept: a parsed document is many
times the size of its text, and a long text is usually a one-off (a
workflow document written inline instead of passed as a variable), so
caching it would cost memory and save nothing. Texts that fail to parse are
never kept (an exception is not cached), so junk cannot fill the cache
either.
"""

from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

# Distinct operation texts kept, and the longest text kept (characters).
CACHED_OPERATIONS = 256
MAX_CACHED_TEXT = 4096


@lru_cache(maxsize=CACHED_OPERATIONS)
def _parsed(text: str, max_tokens: int | None) -> DocumentNode:
    return parse(text, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_OPERATIONS)
def _validated(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    return validate(schema, document, rules)


class OperationCache(SchemaExtension):
    """Serves a short operation text's document and validation result from
    a bounded LRU; any other text takes the normal path."""

    def _cacheable(self) -> bool:
        text = self.execution_context.query
        return text is not None and len(text) <= MAX_CACHED_TEXT

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and self._cacheable():
            context.graphql_document = _parsed(
                context.query, context.parse_options.get("max_tokens")
            )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        # Only documents that came from the cache: the key holds the document,
        # so a one-off document must not become a key.
        if self._cacheable() and context.graphql_document is not None:
            context.pre_execution_errors = _validated(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield


def cached_operations() -> int:
    """How many parsed texts are kept now (for tests and diagnostics)."""
    return _parsed.cache_info().currsize
