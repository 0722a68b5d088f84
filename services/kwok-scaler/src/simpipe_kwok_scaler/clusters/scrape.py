"""How often Prometheus scrapes a virtual cluster's emulated cAdvisor.

KWOK renders every series of a node's pods on each scrape, so the stack
cannot scrape every virtual node often; but a simulation's time scale is
bounded by the scrape (a step must last three of them). Small clusters are
therefore scraped fast, most at the standard interval, and the biggest
(thousands of nodes, each a target) coarsely, so that scraping them does
not starve the control plane of the CPU it needs to play them. The scaler
lists each class's nodes for Prometheus (scrape_discovery.py) and labels
the nodes with their class.
"""

from __future__ import annotations

from typing import Final

SCRAPE_LABEL: Final = "simpipe.io/scrape"
FAST: Final = "fast"
STANDARD: Final = "standard"
COARSE: Final = "coarse"
CLASSES: Final = (FAST, STANDARD, COARSE)


def scrape_class(
    nodes: int, pods: int, fast_max_nodes: int, fast_max_pods: int, standard_max_nodes: int
) -> str:
    """FAST for a cluster of at most `fast_max_nodes` nodes holding at most
    `fast_max_pods` pods in all; STANDARD up to `standard_max_nodes` nodes;
    COARSE above."""
    if nodes <= fast_max_nodes and pods <= fast_max_pods:
        return FAST
    return STANDARD if nodes <= standard_max_nodes else COARSE
