"""Kubernetes API access (install simpipe-common[kubernetes])."""

import asyncio
from pathlib import Path

from kubernetes import client, config

from simpipe_common.checks import Check, dependency_check


def kubernetes_api_client(kubeconfig: Path | None) -> client.ApiClient:
    """A client for the cluster of `kubeconfig`, or, without one, the pod's own cluster."""
    if kubeconfig is None:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    api: client.ApiClient = config.new_client_from_config(config_file=str(kubeconfig))
    return api


def kubernetes_check(kubeconfig: Path | None, timeout: float) -> Check:
    def server_version() -> str:
        with kubernetes_api_client(kubeconfig) as api:
            version = client.VersionApi(api).get_code(_request_timeout=timeout)
            return f"{api.configuration.host}: kubernetes {version.git_version}"

    async def probe() -> str:
        return await asyncio.to_thread(server_version)

    return dependency_check("kubernetes", probe, timeout)
