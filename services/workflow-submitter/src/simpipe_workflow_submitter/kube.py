"""Calls to the Kubernetes API from async code, with its errors typed."""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from simpipe_common.errors import ConflictError, NotFoundError, ServiceError, UnavailableError
from simpipe_common.kube import lazy_api_client


class CustomObjects:
    """The CustomObjects API, built on first use: a missing or broken
    kubeconfig makes calls fail with a clear UNAVAILABLE, not the service."""

    def __init__(self, kubeconfig: Path | None) -> None:
        self._api_client = lazy_api_client(kubeconfig)

    def __call__(self) -> client.CustomObjectsApi:
        try:
            return client.CustomObjectsApi(self._api_client())
        except ConfigException as error:
            raise UnavailableError(f"no usable Kubernetes configuration: {error}") from None


@dataclass(frozen=True)
class NodeFacts:
    """What placement reads of a node."""

    name: str
    labels: dict[str, str]
    taints: list[dict[str, str]]


class Nodes:
    """The cluster's nodes, read (never changed) to check a dry run's node
    or virtual cluster."""

    def __init__(self, kubeconfig: Path | None) -> None:
        self._api_client = lazy_api_client(kubeconfig)

    async def labels(self, name: str) -> dict[str, str]:
        """The labels of node `name`; NotFoundError if there is none."""
        try:
            api = client.CoreV1Api(self._api_client())
        except ConfigException as error:
            raise UnavailableError(f"no usable Kubernetes configuration: {error}") from None
        node = await call(f"node {name}", api.read_node, name)
        return dict(node.metadata.labels or {})

    async def first(self, selector: Mapping[str, str]) -> NodeFacts | None:
        """One node with all these labels, or None."""
        try:
            api = client.CoreV1Api(self._api_client())
        except ConfigException as error:
            raise UnavailableError(f"no usable Kubernetes configuration: {error}") from None
        found = await call(
            "nodes",
            api.list_node,
            label_selector=",".join(f"{k}={v}" for k, v in selector.items()),
            limit=1,
        )
        for node in found.items:
            taints = [
                {"key": t.key, "value": t.value or "", "effect": t.effect}
                for t in node.spec.taints or ()
            ]
            return NodeFacts(node.metadata.name, dict(node.metadata.labels or {}), taints)
        return None


async def call(what: str, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call in a thread; map its failures to ServiceErrors."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except ApiException as error:
        if error.status == 404:
            raise NotFoundError(f"{what} not found") from None
        if error.status == 409:
            raise ConflictError(f"{what} already exists") from None
        if error.status in (400, 422):
            raise ServiceError(f"{what}: the Kubernetes API refused it: {error.reason}") from None
        raise UnavailableError(f"{what}: the Kubernetes API answered {error.status}") from None
    except (HTTPError, OSError) as error:
        raise UnavailableError(f"{what}: the Kubernetes API does not answer ({error})") from None
