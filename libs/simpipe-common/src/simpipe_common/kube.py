"""Kubernetes API access (install simpipe-common[kubernetes])."""

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kubernetes import client, config

from simpipe_common.checks import Check, dependency_check, http_check, nats_check


def kubernetes_api_client(kubeconfig: Path | None) -> client.ApiClient:
    """A client for the cluster of `kubeconfig`, or, without one, the pod's own cluster."""
    if kubeconfig is None:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    api: client.ApiClient = config.new_client_from_config(config_file=str(kubeconfig))
    return api


def lazy_api_client(kubeconfig: Path | None) -> Callable[[], client.ApiClient]:
    """The client, built on first call and kept: an unreadable kubeconfig or
    an absent cluster fails that call (and is tried again on the next), it
    does not stop the service."""
    return functools.cache(lambda: kubernetes_api_client(kubeconfig))


def kubernetes_check(kubeconfig: Path | None, timeout: float) -> Check:
    def server_version() -> str:
        with kubernetes_api_client(kubeconfig) as api:
            version = client.VersionApi(api).get_code(_request_timeout=timeout)
            return f"{api.configuration.host}: kubernetes {version.git_version}"

    async def probe() -> str:
        return await asyncio.to_thread(server_version)

    return dependency_check("kubernetes", probe, timeout)


class ArgoClusterSettings(Protocol):
    nats_url: str
    kubeconfig: Path | None
    argo_server_url: str
    check_timeout_seconds: float


def argo_cluster_checks(settings: ArgoClusterSettings) -> list[Check]:
    """The dependencies of a service that works on Argo Workflows: the event
    mesh, the Kubernetes API and the Argo server."""
    timeout = settings.check_timeout_seconds
    return [
        nats_check(settings.nats_url, timeout),
        kubernetes_check(settings.kubeconfig, timeout),
        http_check("argo", f"{settings.argo_server_url}/api/v1/version", timeout),
    ]
