import base64
import gzip
import json

import pytest

from simpipe_common import argo_nodes
from simpipe_common.argo_nodes import workflow_nodes

NODES = {"run-1": {"id": "run-1", "type": "Pod", "phase": "Succeeded"}}


def packed(value: object) -> str:
    return base64.b64encode(gzip.compress(json.dumps(value).encode())).decode()


def test_plain_nodes_are_read_as_they_are() -> None:
    assert workflow_nodes({"nodes": NODES}) == NODES


def test_compressed_nodes_are_unpacked() -> None:
    assert workflow_nodes({"compressedNodes": packed(NODES)}) == NODES


def test_plain_nodes_win_over_a_compressed_copy() -> None:
    assert workflow_nodes({"nodes": NODES, "compressedNodes": packed({"x": {}})}) == NODES


@pytest.mark.parametrize(
    "status",
    [
        None,
        "nodes",
        {},
        {"nodes": None},
        {"nodes": ["a"]},
        {"compressedNodes": "not base64!"},
        {"compressedNodes": base64.b64encode(b"not gzip").decode()},
        {"compressedNodes": base64.b64encode(gzip.compress(b"{not json")).decode()},
        {"compressedNodes": packed(["a", "list"])},
        {"compressedNodes": packed(NODES)[:-12]},
        {"compressedNodes": 42},
    ],
)
def test_what_cannot_be_read_is_no_nodes(status: object) -> None:
    assert workflow_nodes(status) == {}


def test_a_compressed_status_above_the_limit_is_not_inflated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(argo_nodes, "MAX_NODES_JSON_BYTES", 1024)
    big = {f"n{i}": {"id": f"n{i}", "phase": "Succeeded"} for i in range(200)}
    assert workflow_nodes({"compressedNodes": packed(big)}) == {}
    assert workflow_nodes({"compressedNodes": packed(NODES)}) == NODES
