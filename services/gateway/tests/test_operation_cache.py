"""The operation cache: short texts parsed and validated once, long or broken
texts taking the normal path, results the same either way."""

import strawberry

from simpipe_gateway.operation_cache import MAX_CACHED_TEXT, OperationCache, cached_operations


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str) -> str:
        return text


schema = strawberry.Schema(query=Query, extensions=[OperationCache])


def test_a_repeated_short_operation_is_parsed_once_and_answers_each_time() -> None:
    before = cached_operations()
    for word in ("a", "b", "c"):
        result = schema.execute_sync("query($t: String!) { echo(text: $t) }", {"t": word})
        assert result.errors is None
        assert result.data == {"echo": word}
    assert cached_operations() == before + 1


def test_a_long_operation_is_answered_but_not_kept() -> None:
    long_text = "x" * MAX_CACHED_TEXT
    query = f'{{ echo(text: "{long_text}") }}'
    before = cached_operations()
    result = schema.execute_sync(query)
    assert result.data == {"echo": long_text}
    assert cached_operations() == before


def test_a_malformed_operation_is_a_syntax_error_and_not_kept() -> None:
    before = cached_operations()
    result = schema.execute_sync("{ echo(text: ")
    assert result.errors
    assert "Syntax Error" in result.errors[0].message
    assert cached_operations() == before


def test_an_invalid_operation_is_refused_the_same_way_from_the_cache() -> None:
    query = "{ nope }"
    first = schema.execute_sync(query)
    again = schema.execute_sync(query)
    assert first.errors
    assert again.errors
    assert [e.message for e in first.errors] == [e.message for e in again.errors]
    assert "Cannot query field 'nope'" in first.errors[0].message
    assert first.data is None
    assert again.data is None


async def test_the_gateway_schema_keeps_its_operations() -> None:
    from simpipe_gateway.config import GatewaySettings
    from simpipe_gateway.schema import build_schema

    gateway_schema = build_schema(GatewaySettings())
    query = "query PingTwice { ping }"
    before = cached_operations()
    for _ in range(2):
        result = await gateway_schema.execute(query)
        assert result.data == {"ping": "pong"}
    assert cached_operations() == before + 1
