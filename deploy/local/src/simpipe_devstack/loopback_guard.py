"""Keep listeners that cannot be bound to 127.0.0.1 to this machine.

Argo 3.6's server (2746) and its controller's metrics and health ports have
no bind-address flag and listen on every interface: the real node's pods
would reach them on the bridge address, other machines on this one's. A
netfilter chain of our own, jumped to from the top of INPUT (kube-proxy's
chains there accept nothing), lets connections to those ports in through the
loopback interface only (which is also how this machine's processes reach its
other addresses) and resets the rest. IPv4 and IPv6 alike: the listeners are
dual-stack.

Each guard is one chain, SIMPIPE-<NAME>, set when its component starts and
removed when it stops, so `make down` leaves no rule behind, whatever ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

PREFIX = "SIMPIPE-"
WAIT = ("-w", "5")  # wait for the xtables lock rather than fail


class GuardError(RuntimeError):
    pass


def families() -> tuple[str, ...]:
    """The iptables programs to use: IPv6's too where the kernel has IPv6."""
    return ("iptables", "ip6tables") if Path("/proc/net/if_inet6").exists() else ("iptables",)


def chain_name(name: str) -> str:
    """SIMPIPE-<NAME>; netfilter chain names have at most 28 characters."""
    chain = PREFIX + name.upper()
    if len(chain) > 28:
        raise ValueError(f"chain name {chain!r} is longer than netfilter's 28 characters")
    return chain


def chain_rules(chain: str, ports: Sequence[int]) -> list[list[str]]:
    """What `chain` holds: loopback returns to INPUT's other rules, any other
    TCP connection to `ports` is reset (refused at once, not left to time out)."""
    dports = ",".join(str(p) for p in sorted(set(ports)))
    return [
        ["-A", chain, "-i", "lo", "-j", "RETURN"],
        ["-A", chain, "-p", "tcp", "-m", "multiport", "--dports", dports,
         "-j", "REJECT", "--reject-with", "tcp-reset"],
    ]  # fmt: skip


def jump_match(chain: str) -> list[str]:
    """The INPUT rule that sends TCP to `chain`."""
    return ["-p", "tcp", "-j", chain]


def _run(program: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [program, *WAIT, *args], capture_output=True, text=True, timeout=30, check=False
    )


def available() -> str | None:
    """Why no guard can be set here, or None if it can."""
    missing = [f for f in families() if shutil.which(f) is None]
    if missing:
        return f"{' and '.join(missing)} not found"
    if os.geteuid() != 0:
        return "only root can set netfilter rules"
    return None


def guard(name: str, ports: Sequence[int]) -> None:
    """Set the chain (emptied and filled again if it exists) and its jump,
    first in INPUT (added only where missing); idempotent."""
    chain = chain_name(name)
    for family in families():
        _run(family, "-N", chain)  # fails when it exists: it is emptied next
        for args in (["-F", chain], *chain_rules(chain, ports)):
            result = _run(family, *args)
            if result.returncode != 0:
                raise GuardError(f"{family} {' '.join(args)}: {result.stderr.strip()}")
        if _run(family, "-C", "INPUT", *jump_match(chain)).returncode != 0:
            result = _run(family, "-I", "INPUT", "1", *jump_match(chain))
            if result.returncode != 0:
                raise GuardError(f"{family}: cannot jump to {chain}: {result.stderr.strip()}")


# More jumps than this to one chain is not something guard() makes.
MAX_JUMPS = 8


def unguard(name: str) -> None:
    """Remove the chain and the jumps to it; nothing to do if absent."""
    chain = chain_name(name)
    for family in families():
        if shutil.which(family) is None:
            continue
        # Twice if a crash came between guard()'s check and insert.
        for _ in range(MAX_JUMPS):
            if _run(family, "-D", "INPUT", *jump_match(chain)).returncode != 0:
                break
        _run(family, "-F", chain)  # a chain must be empty to be deleted
        _run(family, "-X", chain)


def guarded(name: str) -> bool:
    """Is the chain jumped to from INPUT in every family?"""
    chain = chain_name(name)
    return all(
        _run(family, "-C", "INPUT", *jump_match(chain)).returncode == 0 for family in families()
    )
