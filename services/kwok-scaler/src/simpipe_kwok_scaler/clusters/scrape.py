"""How often Prometheus scrapes a virtual cluster's emulated cAdvisor.

KWOK renders every series of a node's pods on each scrape, so the stack
cannot scrape every virtual node often; but a simulation's time scale is
bounded by the scrape (a step must last three of them). Small clusters are
therefore labelled for a fast scrape job and the rest for the standard one;
Prometheus picks a node's job by this label (deploy/local's prometheus.py).
"""

from __future__ import annotations

from typing import Final

SCRAPE_LABEL: Final = "simpipe.io/scrape"
FAST: Final = "fast"
STANDARD: Final = "standard"


def scrape_class(nodes: int, pods: int, max_nodes: int, max_pods: int) -> str:
    """FAST for a cluster of at most `max_nodes` nodes holding at most
    `max_pods` pods in all; STANDARD otherwise."""
    return FAST if nodes <= max_nodes and pods <= max_pods else STANDARD


def scrape_seconds(scrape: str, fast_seconds: float, standard_seconds: float) -> float:
    return fast_seconds if scrape == FAST else standard_seconds
