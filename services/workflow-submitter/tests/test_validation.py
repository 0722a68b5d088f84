import pytest

from simpipe_common.errors import InvalidInputError
from simpipe_workflow_submitter import validation


@pytest.mark.parametrize("good", ["a", "run-1", "x" * 63, "0abc9"])
def test_dns_labels_pass(good: str) -> None:
    assert validation.dns_label("id", good) == good


@pytest.mark.parametrize("bad", ["", "-a", "a-", "A", "a.b", "a_b", "x" * 64, "../etc", "a b", "é"])
def test_other_ids_are_refused_with_the_field_named(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="dry run id"):
        validation.dns_label("dry run id", bad)


@pytest.mark.parametrize("bad", ["", "x" * 257, "bad\nname"])
def test_callers_must_be_present_and_printable(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        validation.caller(bad)


def test_display_names_are_trimmed_and_bounded() -> None:
    assert validation.display_name("  My Pipeline ") == "My Pipeline"
    for bad in ["", "   ", "x" * 201, "tab\tname"]:
        with pytest.raises(InvalidInputError):
            validation.display_name(bad)


def test_slug_makes_a_valid_label_from_any_name() -> None:
    for name in ["My Pipeline!", "---", "Ünïcode ÷ stuff", "x" * 100]:
        assert validation.dns_label("id", validation.slug(name) + "-abc123")
