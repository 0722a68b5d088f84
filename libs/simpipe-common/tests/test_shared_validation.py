import pytest

from simpipe_common import validation
from simpipe_common.errors import InvalidInputError


def test_a_node_id_may_be_longer_than_a_label_up_to_a_kubernetes_name() -> None:
    long = "w" * 63 + "-1234567890"
    assert validation.node_id(long) == long
    assert validation.node_id("n" * 253) == "n" * 253
    with pytest.raises(InvalidInputError, match="node id"):
        validation.node_id("n" * 254)


@pytest.mark.parametrize("value", ["", "wf[0].step", "-a", "a-", "Node", "a_b", "a.b"])
def test_a_node_id_has_a_dns_labels_alphabet(value: str) -> None:
    with pytest.raises(InvalidInputError, match="node id"):
        validation.node_id(value)
