"""Which series a `metrics` selection asks without arguments, and where a
field is in a query."""

from graphql.pyutils import Path
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from simpipe_gateway.series_selection import default_range_series, place

SERIES = {"memoryRss", "sockets", "threads", "processes"}
SAMPLE: list[Selection] = [SelectedField(name="value", directives={}, arguments={}, selections=[])]


def series(name: str, **arguments: object) -> SelectedField:
    return SelectedField(name=name, directives={}, arguments=dict(arguments), selections=SAMPLE)


def metrics(*selections: Selection) -> list[Selection]:
    return [SelectedField(name="metrics", directives={}, arguments={}, selections=list(selections))]


def test_series_asked_without_arguments_directly_and_in_fragments() -> None:
    selected = metrics(
        series("memoryRss"),
        series("summary"),
        InlineFragment(type_condition=None, directives={}, selections=[series("sockets")]),
        FragmentSpread(
            name="F",
            type_condition="DryRunNodeMetrics",
            directives={"skip": {"if": True}},
            selections=[series("threads")],
        ),
    )
    assert default_range_series(selected, SERIES) == {"memoryRss", "sockets", "threads"}


def test_series_with_arguments_and_fragments_on_other_types_are_left_out() -> None:
    selected = metrics(
        series("memoryRss", start=1),
        series("sockets", step=None),
        InlineFragment(
            type_condition="PrometheusSample", directives={}, selections=[series("threads")]
        ),
    )
    assert default_range_series(selected, SERIES) == set()
    # The same series without arguments counts, whatever else asks it.
    assert default_range_series(
        metrics(series("memoryRss", start=1), series("memoryRss")), SERIES
    ) == {"memoryRss"}


def test_a_place_leaves_out_list_indices_and_keeps_names_and_types() -> None:
    def metrics_of(step: int, run: str = "dryRun", typename: str = "DryRunNodePod") -> Path:
        return (
            Path(None, run, "Query")
            .add_key("nodes", "DryRun")
            .add_key(step, None)
            .add_key("metrics", typename)
        )

    assert place(metrics_of(0)) == place(metrics_of(99))
    assert place(metrics_of(0)) != place(metrics_of(0, run="other"))
    assert place(metrics_of(0)) != place(metrics_of(0, typename="DryRunNodeMisc"))
    assert place(None) == ()
