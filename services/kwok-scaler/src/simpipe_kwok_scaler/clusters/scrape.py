"""How often Prometheus scrapes a virtual cluster's emulated cAdvisor.

KWOK renders every series of a node's pods on each scrape, so the stack
cannot scrape every virtual node often; but a simulation's time scale is
bounded by the scrape (a step must last three of them). Small clusters are
therefore scraped fast, most at the standard interval, and the biggest
(thousands of nodes, each a target) coarsely, so that scraping them does
not starve the control plane of the CPU it needs to play them. The scaler
lists each class's nodes for Prometheus (scrape_discovery.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from simpipe_kwok_scaler.config import VirtualClusterSettings

FAST: Final = "fast"
STANDARD: Final = "standard"
COARSE: Final = "coarse"
CLASSES: Final = (FAST, STANDARD, COARSE)


def scrape_class(nodes: int, pods: int, settings: VirtualClusterSettings) -> str:
    """A cluster's class by its nodes and the pods they hold in all: FAST
    within both fast bounds, STANDARD up to the standard node bound, COARSE
    above."""
    if nodes <= settings.fast_scrape_max_nodes and pods <= settings.fast_scrape_max_pods:
        return FAST
    return STANDARD if nodes <= settings.standard_scrape_max_nodes else COARSE
