"""A process component starts only once its ports are free."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.processes import ProcessSpec, StackError


class Listener(ProcessComponent):
    name = "listener"
    port_keys = ("listener",)
    ports_free_timeout = 5.0

    def spec(self, stack: Any) -> ProcessSpec:
        return ProcessSpec(name=self.name, argv=("true",))

    def ready(self, stack: Any) -> Callable[[], bool]:
        return lambda: True


def held_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def stack_on(port: int, happened: list[str]) -> Any:
    supervisor = SimpleNamespace(
        start=lambda spec: happened.append("started"), pid=lambda name: 1,
        log_path=lambda name: "log", log_tail=lambda name: "",
    )  # fmt: skip
    return SimpleNamespace(layout=SimpleNamespace(ports={"listener": port}), supervisor=supervisor)


def test_a_start_waits_until_a_predecessors_port_is_released() -> None:
    sock = held_port()
    port = sock.getsockname()[1]
    happened: list[str] = []

    def release() -> None:
        sock.close()
        happened.append("released")

    releasing = threading.Timer(0.5, release)
    releasing.start()
    try:
        Listener().start(stack_on(port, happened))
    finally:
        releasing.join()
    assert happened == ["released", "started"]


def test_a_port_that_stays_taken_fails_the_start_naming_its_holder() -> None:
    sock = held_port()
    port = sock.getsockname()[1]
    happened: list[str] = []
    component = Listener()
    component.ports_free_timeout = 0.5
    try:
        with pytest.raises(StackError, match=f"port {port} is taken by pid"):
            component.start(stack_on(port, happened))
    finally:
        sock.close()
    assert happened == []
