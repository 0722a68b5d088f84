"""Emulation of Argo's executor for steps on virtual (KWOK) nodes: their
WorkflowTaskResults and the end of their daemons (see emulator.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from kubernetes import client

from simpipe_common.kube import lazy_api_client
from simpipe_kwok_scaler.emulation.emulator import Emulator, RunnableEmulationConfig
from simpipe_kwok_scaler.emulation.kube import EmulationKube
from simpipe_kwok_scaler.emulation.settings import EmulationSettings
from simpipe_kwok_scaler.emulation.watch import PodWatch

__all__ = ["EmulationSettings", "run_emulation"]

log = structlog.get_logger(__name__)


async def run_emulation(
    settings: RunnableEmulationConfig, api: Callable[[], client.ApiClient] | None = None
) -> None:
    """Watches the step pods of the simulations' namespace (every run on
    virtual nodes is there) and emulates Argo's executor for those on
    virtual nodes, until cancelled."""
    if not settings.emulation_enabled:
        log.info("emulation of Argo's executor on virtual nodes is off")
        return
    api = api or lazy_api_client(settings.kubeconfig)
    emulator = Emulator(settings, EmulationKube(api, settings.emulation_kube_timeout_seconds))
    watch = PodWatch(
        api, settings.simulation_namespace, settings.emulation_watch_timeout_seconds,
        asyncio.get_running_loop(), emulator.receive,
    )  # fmt: skip
    watch.start()
    log.info("emulating Argo's executor on virtual nodes", namespace=settings.simulation_namespace)
    try:
        await emulator.run()
    finally:
        watch.stop()
