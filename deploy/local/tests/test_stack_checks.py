from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from simpipe_devstack.components.nats import Nats
from simpipe_devstack.layout import Layout
from simpipe_devstack.processes import StackError
from simpipe_devstack.stack import Stack


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_taken_port_is_named_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, taken_port: int
) -> None:
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path))
    monkeypatch.setenv("SIMPIPE_PORT_NATS", str(taken_port))
    stack = Stack(Layout.from_env(), out=lambda _: None)
    with pytest.raises(StackError) as caught:
        stack._check_ports(Nats())
    message = str(caught.value)
    assert str(taken_port) in message
    assert "SIMPIPE_PORT_NATS" in message
    assert f"pid {os.getpid()}" in message


def test_missing_binaries_point_to_make_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SIMPIPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path / "state"))
    (tmp_path / "cache" / "kwok-v0.7.0.tmp").mkdir(parents=True)
    stack = Stack(Layout.from_env(), out=lambda _: None)
    with pytest.raises(StackError, match="make build") as caught:
        stack.up()
    assert "kwok-v0.7.0.tmp" in str(caught.value), "a half-built cache is named"
    assert not (tmp_path / "state" / "pids").exists(), "nothing was started"


@pytest.mark.parametrize("nodes", ["0", "many", "99999"])
def test_bad_kwok_node_count_is_refused(monkeypatch: pytest.MonkeyPatch, nodes: str) -> None:
    monkeypatch.setenv("SIMPIPE_KWOK_NODES", nodes)
    with pytest.raises(StackError, match="SIMPIPE_KWOK_NODES"):
        Stack(Layout.from_env())
