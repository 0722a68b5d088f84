import pytest

from simpipe_argo_watcher import ids
from simpipe_common.errors import InvalidInputError


@pytest.mark.parametrize("value", ["a", "run-1", "x" * 63, "0abc"])
def test_valid_dry_run_ids(value: str) -> None:
    assert ids.dry_run_id(value) == value


@pytest.mark.parametrize(
    "value", ["", "-a", "a-", "Run", "a.b", "a_b", "x" * 64, "a b", "a/b", "a>", "é"]
)
def test_malformed_dry_run_ids(value: str) -> None:
    with pytest.raises(InvalidInputError, match="dry run id"):
        ids.dry_run_id(value)


def test_node_ids_may_be_longer_than_a_label() -> None:
    long = "w" * 63 + "-1234567890"
    assert ids.node_id(long) == long
    with pytest.raises(InvalidInputError):
        ids.node_id("wf[0].step")


def test_project_ids_are_label_values_and_may_be_empty() -> None:
    assert ids.project_id("") == ""
    assert ids.project_id("My_Project.1") == "My_Project.1"
    with pytest.raises(InvalidInputError):
        ids.project_id("a,b=c")


def test_a_caller_is_required() -> None:
    assert ids.caller("alice@example.org") == "alice@example.org"
    for bad in ("", "a\nb", "x" * 257):
        with pytest.raises(InvalidInputError):
            ids.caller(bad)


def test_a_node_id_is_bounded_like_a_kubernetes_name() -> None:
    assert ids.node_id("n" * 253) == "n" * 253
    with pytest.raises(InvalidInputError, match="node id"):
        ids.node_id("n" * 254)
