"""Which series a query asks of a step, read from the `metrics` field's
selection (strawberry's Info.selected_fields) before its fields resolve: the
step's series then load in one batched call, and each series field only
looks its own up.

Only series asked without arguments count: the literal arguments in a
selection are not coerced yet (a TimeStamp may still be ISO text), so a
series with a range of its own is loaded by its field, whose arguments are.
Fields left out by @skip/@include are counted too: loading a series nobody
reads costs less than evaluating directives a second time.

Reading a selection converts the field's whole subtree, samples and all, and
showed in a profile once per step: the steps of a list share one (`place`).
"""

from collections.abc import Collection, Iterable

from graphql.pyutils import Path
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

# The GraphQL type whose fields are the series.
METRICS_TYPE = "DryRunNodeMetrics"


def default_range_series(selected: Iterable[Selection], series: Collection[str]) -> set[str]:
    """The names in `series` that the selection of a field of type
    METRICS_TYPE asks without arguments (`selected` is Info.selected_fields:
    the field itself, its subfields under it)."""
    found: set[str] = set()
    for field in selected:
        if isinstance(field, SelectedField):
            _collect(field.selections, series, found)
    return found


def _collect(selections: Iterable[Selection], series: Collection[str], found: set[str]) -> None:
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name in series and not selection.arguments:
                found.add(selection.name)
        # A fragment on another type never applies to this one.
        elif isinstance(selection, InlineFragment | FragmentSpread) and (
            selection.type_condition in (None, METRICS_TYPE)
        ):
            _collect(selection.selections, series, found)


# A field's place in a query: its path without list indices, each response
# name with the type of the object that has it.
Place = tuple[tuple[str, str | None], ...]


def place(path: Path | None) -> Place:
    """Where a field is in the query. GraphQL collects a field's nodes from
    the query by the response names and object types above it, so two fields
    at one place (the same field of two items of a list) have one selection
    in an operation: the selection read at a place serves every field there."""
    found: list[tuple[str, str | None]] = []
    while path is not None:
        if isinstance(path.key, str):
            found.append((path.key, path.typename))
        path = path.prev
    return tuple(found)
