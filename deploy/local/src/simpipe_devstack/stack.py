"""Bring the whole local stack up or down, in order, all or nothing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from simpipe_devstack.components import Component, all_components
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.cluster_services import ClusterServices
from simpipe_devstack.components.services import SERVICE_NAMES, Service, port_key
from simpipe_devstack.layout import Layout
from simpipe_devstack.node_support import real_node_problem
from simpipe_devstack.processes import StackError, Supervisor
from simpipe_devstack.readiness import port_holder, port_in_use
from simpipe_devstack.secrets import Secrets

# How the six services run: processes on this machine, or pods on its real
# node (deploy/kustomize/overlays/local).
MODES = ("process", "cluster")


class Stack:
    def __init__(self, layout: Layout, out: Callable[[str], None] = print) -> None:
        self.layout = layout
        self.out = out
        self.supervisor = Supervisor(layout.pids, layout.logs)
        self.components: list[Component] = all_components()
        nodes = os.environ.get("SIMPIPE_KWOK_NODES", "4")
        if not nodes.isdigit() or not 1 <= int(nodes) <= 5000:
            raise StackError(
                f"SIMPIPE_KWOK_NODES={nodes!r}: expected a number of nodes from 1 to 5000"
            )
        self.kwok_node_count = int(nodes)

    @cached_property
    def secrets(self) -> Secrets:
        return Secrets.load_or_create(self.layout.secrets_file)

    @cached_property
    def real_node_problem(self) -> str | None:
        """Why the real node cannot run on this machine, or None if it can."""
        bins = self.layout.binaries
        needed = {b for c in self.components if c.real_node for b in c.binaries}
        # Baked into the node's images rather than run by a component.
        needed |= {"argoexec", "pause"}
        return real_node_problem({b: bins[b] for b in sorted(needed)})

    @property
    def real_node(self) -> bool:
        return self.real_node_problem is None

    @cached_property
    def mode(self) -> str:
        """ "process" (the services as processes) or "cluster" (as pods of
        deploy/kustomize/overlays/local): SIMPIPE_MODE, else what the last
        `up` used."""
        chosen = os.environ.get("SIMPIPE_MODE", "")
        if not chosen and self.mode_file.is_file():
            chosen = self.mode_file.read_text().strip()
        chosen = chosen or "process"
        if chosen not in MODES:
            raise StackError(f"SIMPIPE_MODE={chosen!r}: expected one of {', '.join(MODES)}")
        return chosen

    @property
    def mode_file(self) -> Path:
        return self.layout.state / "mode"

    def in_mode(self, component: Component) -> bool:
        if isinstance(component, ClusterServices):
            return self.mode == "cluster"
        if isinstance(component, Service):
            return self.mode == "process"
        return True

    @property
    def active_components(self) -> list[Component]:
        """What `up` starts here: everything, less the real node where it
        cannot run, with the services as processes or as pods (mode)."""
        return [
            c for c in self.components
            if (self.real_node or not c.real_node) and self.in_mode(c)
        ]  # fmt: skip

    def service_http_ports(self) -> dict[str, int]:
        return {name: self.layout.ports[port_key(name, "http")] for name in SERVICE_NAMES}

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.components)
        raise StackError(f"unknown component {name!r} (known: {known})")

    def check_prerequisites(self) -> None:
        bins = self.layout.binaries
        missing = [
            f"{b} ({bins[b]})"
            for c in self.active_components
            for b in c.binaries
            if not bins[b].is_file()
        ]
        if missing:
            half = sorted(p.name for p in self.layout.cache.glob("*.tmp"))
            hint = f" An interrupted build left {', '.join(half)}." if half else ""
            raise StackError(
                "missing binaries: " + ", ".join(missing) + f".{hint} Run `make build` "
                "(deploy/local/build.sh) to build them into the cache."
            )
        # Entered by the unprivileged postgres user too.
        self.layout.state.mkdir(parents=True, exist_ok=True)
        self.layout.state.chmod(0o755)
        for d in (self.layout.generated, self.layout.data, self.layout.logs, self.layout.pids):
            d.mkdir(parents=True, exist_ok=True)

    def _check_ports(self, component: Component) -> None:
        for key in component.port_keys:
            port = self.layout.ports[key]
            if port_in_use(port):
                raise StackError(
                    f"port {port} ({key}, needed by {component.name}) is taken by {port_holder(port)}. "
                    f"Stop that process, or choose another port: SIMPIPE_PORT_{key.upper()}=<port> make up"
                )

    def up(self) -> None:
        self.check_prerequisites()
        if self.real_node_problem:
            self.out(
                f"  off  real node            the real node cannot run here: "
                f"{self.real_node_problem}.\n"
                "       Starting the KWOK-only stack: simulations work, dry runs have no real node."
            )
        cluster = self.component(Cluster.name)
        if (
            isinstance(cluster, Cluster)
            and cluster.is_running(self)
            and cluster.config_changed(self)
        ):
            # Every client holds the old cluster's certificates: start over.
            self.out("  the cluster's configuration changed: restarting the whole stack")
            self.down()
        if self.mode == "cluster" and self.real_node_problem:
            raise StackError(f"MODE=cluster needs the real node: {self.real_node_problem}")
        # Switching modes: the services of the other mode go first.
        for component in reversed(self.components):
            if not self.in_mode(component) and component.is_running(self):
                self.out(f"  ...  {component.name:<20} stopping ({self.mode} mode)")
                component.stop(self)
        self.mode_file.write_text(self.mode)
        started: list[Component] = []
        current = ""
        t_all = time.monotonic()
        try:
            for component in self.active_components:
                current = component.name
                if component.is_running(self):
                    self.out(f"  ok   {component.name:<20} already running")
                    continue
                self._check_ports(component)
                self.out(f"  ...  {component.name:<20} starting")
                t0 = time.monotonic()
                started.append(component)
                component.start(self)
                self.out(f"  ok   {component.name:<20} ready in {time.monotonic() - t0:.1f}s")
        except BaseException:
            self.out(f"  FAIL {current:<20} rolling back what this run started")
            for component in reversed(started):
                try:
                    component.stop(self)
                except (StackError, OSError) as exc:
                    self.out(f"       could not stop {component.name}: {exc}")
            raise
        self.layout.endpoints_file.write_text(json.dumps(self.endpoints(), indent=2))
        self.out(
            f"stack up in {time.monotonic() - t_all:.1f}s; endpoints ({self.layout.endpoints_file}):"
        )
        for name, url in self.endpoints().items():
            self.out(f"  {name:<28} {url}")

    def down(self) -> None:
        stopped = 0
        for component in reversed(self.components):
            try:
                if component.stop(self):
                    stopped += 1
                    self.out(f"  stopped {component.name}")
            except StackError as exc:
                self.out(f"  could not stop {component.name}: {exc}")
        self.out(f"{stopped} component(s) stopped" if stopped else "nothing was running")

    def endpoints(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for component in self.active_components:
            found.update(component.endpoints(self))
        found["state"] = str(self.layout.state)
        found["secrets"] = str(self.layout.secrets_file)
        return found

    def status(self) -> bool:
        all_up = True
        if self.real_node_problem:
            self.out(f"  off  real node            {self.real_node_problem}")
        for component in self.active_components:
            running = component.is_running(self)
            all_up &= running
            pid = component.pid(self)
            where = ", ".join(component.endpoints(self).values())
            state = "up  " if running else "down"
            self.out(f"  {state} {component.name:<20} {f'pid {pid}' if pid else '':<10} {where}")
        return all_up
