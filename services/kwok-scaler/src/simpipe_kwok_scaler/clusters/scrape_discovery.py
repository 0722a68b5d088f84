"""Prometheus HTTP service discovery of the virtual nodes, by scrape class:
GET /discovery/scrape/fast, /standard and /coarse.

KWOK's own discovery lists every node with no labels, so Prometheus could
not tell a small cluster's nodes from the rest; the scaler knows each
cluster's class (scrape.py) and lists the nodes of one. Each target is the
node's name; Prometheus' job points it at KWOK's metrics path for the node
(deploy/local's prometheus.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import structlog

from simpipe_common.errors import ServiceError
from simpipe_common.http import Receive, Scope, Send, respond
from simpipe_kwok_scaler.clusters.scrape import CLASSES

if TYPE_CHECKING:
    from simpipe_kwok_scaler.clusters.service import VirtualClusters

log = structlog.get_logger(__name__)

PATHS = {f"/discovery/scrape/{scrape}": scrape for scrape in CLASSES}


class ScrapeDiscovery:
    """The ASGI app of both paths; answers 503 until `clusters` is set
    (the service's lifespan makes it) and while the records cannot be read:
    Prometheus then keeps the targets it had."""

    def __init__(self) -> None:
        self.clusters: VirtualClusters | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = "text/plain; charset=utf-8"
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, text, b"GET only\n")
            return
        if self.clusters is None:
            await respond(send, 503, text, b"starting\n")
            return
        try:
            nodes = await self.clusters.scrape_targets(PATHS[scope["path"]])
        except ServiceError as error:
            log.warning("scrape discovery failed", error=str(error))
            await respond(send, 503, text, b"virtual clusters unreadable\n")
            return
        groups = [{"targets": nodes, "labels": {}}] if nodes else []
        await respond(send, 200, "application/json", json.dumps(groups).encode())

    def routes(self) -> dict[str, ScrapeDiscovery]:
        return dict.fromkeys(PATHS, self)
