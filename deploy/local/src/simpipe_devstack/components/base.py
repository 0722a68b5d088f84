"""What every component of the local stack can do, and the common case of
one supervised process."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from simpipe_devstack.processes import ProcessSpec
from simpipe_devstack.readiness import port_bindable, port_holder, wait_until

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack


class Component(ABC):
    name: str
    # Keys of Layout.ports this component listens on (checked free before start).
    port_keys: tuple[str, ...] = ()
    # Binaries (keys of Layout.binaries) it needs from the cache.
    binaries: tuple[str, ...] = ()
    # Part of the real node: started only where this machine can run
    # containers (Stack.real_node_problem).
    real_node: bool = False

    @abstractmethod
    def is_running(self, stack: Stack) -> bool: ...

    @abstractmethod
    def start(self, stack: Stack) -> None:
        """Start and wait until ready; raise StackError with a hint on failure."""

    @abstractmethod
    def stop(self, stack: Stack) -> bool:
        """Stop what the stack started; True if something was running."""

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {}

    def pid(self, stack: Stack) -> int | None:
        return stack.supervisor.pid(self.name)


class ProcessComponent(Component):
    """A component that is exactly one process we start and supervise."""

    ready_timeout: float = 60.0
    # How long a start waits for its ports to be free (a killed predecessor's
    # sockets may outlive it briefly).
    ports_free_timeout: float = 15.0

    @abstractmethod
    def spec(self, stack: Stack) -> ProcessSpec: ...

    @abstractmethod
    def ready(self, stack: Stack) -> Callable[[], bool]: ...

    def prepare(self, stack: Stack) -> None:
        """Write config files and data directories before the first start."""

    def after_start(self, stack: Stack) -> None:
        """Bootstrap steps that need the process up (buckets, databases)."""

    def is_running(self, stack: Stack) -> bool:
        return stack.supervisor.pid(self.name) is not None

    def start(self, stack: Stack) -> None:
        self.prepare(stack)
        self._until_ports_free(stack)
        stack.supervisor.start(self.spec(stack))
        wait_until(
            self.name,
            self.ready(stack),
            self.ready_timeout,
            alive=lambda: self.is_running(stack),
            on_failure=lambda: (
                f"last lines of {stack.supervisor.log_path(self.name)}:\n"
                + stack.supervisor.log_tail(self.name)
            ),
        )
        self.after_start(stack)

    def stop(self, stack: Stack) -> bool:
        return stack.supervisor.stop(self.name)

    def _until_ports_free(self, stack: Stack) -> None:
        """Its ports free before it starts: a restart right after a SIGKILL
        found NATS's monitor port still taken and NATS exited at once."""
        ports = [stack.layout.ports[key] for key in self.port_keys]
        wait_until(
            f"{self.name}'s ports",
            lambda: all(port_bindable(port) for port in ports),
            self.ports_free_timeout,
            on_failure=lambda: "; ".join(
                f"port {port} is taken by {port_holder(port)}"
                for port in ports
                if not port_bindable(port)
            ),
        )
