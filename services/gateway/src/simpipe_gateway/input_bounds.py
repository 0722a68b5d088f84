"""Bounds of list and number arguments: a request's body is bounded in bytes
(max_query_bytes), but a few bytes per item still make a list long enough
to keep a service busy, so list arguments and counts are bounded here and
refused with INPUT_VALIDATION_ERROR beyond that."""

from collections.abc import Sequence
from typing import TypeVar

from simpipe_gateway.errors import graphql_error

T = TypeVar("T")

# Items of one list argument (keys to delete, dry run ids, samples, ...):
# S3 deletes at most this many keys in one request.
MAX_LIST_ITEMS = 1000
# Lines of a step's log in one answer.
MAX_LOG_LINES = 10_000


def bounded_list(values: Sequence[T] | None, what: str, limit: int = MAX_LIST_ITEMS) -> list[T]:
    found = list(values or [])
    if len(found) > limit:
        raise graphql_error(
            f"{what} holds {len(found)} items; at most {limit} are allowed",
            "INPUT_VALIDATION_ERROR",
        )
    return found


def bounded_int(value: int | None, what: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise graphql_error(f"{what} must be between {low} and {high}", "INPUT_VALIDATION_ERROR")
    return value
