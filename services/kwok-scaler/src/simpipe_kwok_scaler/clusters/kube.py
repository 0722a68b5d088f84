"""The Kubernetes calls of virtual clusters: Nodes, the clusters' records
(ConfigMaps) and the Workflows that may still use a cluster, with failures
typed.

The Kubernetes client is synchronous: its calls run on a thread pool of our
own, sized to the write concurrency, with an HTTP connection pool of the
same size (the client's default keeps 5 per CPU and would open and drop a
TLS connection per request beyond that). Calls send dicts and skip decoding
answers into the client's models: on 1,000 nodes those were the client's
own cost. Node creations, the hot path, go over an async HTTP client
instead (NodeWriter), with the same address and credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from simpipe_common.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)

T = TypeVar("T")


def api_client(kubeconfig: Path | None, connections: int) -> client.ApiClient:
    """A client of `kubeconfig`'s cluster (the pod's own without one) that
    keeps `connections` HTTP connections open."""
    configuration = client.Configuration()
    if kubeconfig is None:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


class Kube:
    """Blocking client calls run on `threads` threads; every failure becomes a ServiceError."""

    def __init__(self, kubeconfig: Path | None, threads: int, timeout: float) -> None:
        self._kubeconfig = kubeconfig
        self._threads = threads
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="kube")
        self._client: client.ApiClient | None = None

    def api_client(self) -> client.ApiClient:
        """Built on first use: a missing kubeconfig fails that call, not the service."""
        if self._client is None:
            try:
                self._client = api_client(self._kubeconfig, self._threads)
            except (ConfigException, OSError) as error:
                raise UnavailableError(f"no usable Kubernetes configuration: {error}") from None
        return self._client

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client())

    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client())

    async def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except ApiException as error:
            raise typed(what, error) from None
        except (HTTPError, OSError) as error:
            raise UnavailableError(
                f"{what}: the Kubernetes API does not answer ({error})"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()


def typed(what: str, error: ApiException) -> ServiceError:
    return typed_status(what, error.status or 0, error.body, str(error.reason))


def typed_status(what: str, status: int, body: str | bytes | None, reason: str) -> ServiceError:
    if status == 404:
        return NotFoundError(f"{what} not found")
    if status == 409:
        return ConflictError(f"{what} already exists")
    if status in (400, 422):
        # What we send is checked before: a refusal here is a bound of the
        # apiserver's we did not know (e.g. a quantity it reads otherwise).
        return InvalidInputError(f"{what}: the Kubernetes API refused it: {_message(body, reason)}")
    if status == 429:
        return UnavailableError(f"{what}: the Kubernetes API is busy (429); try again")
    return UnavailableError(f"{what}: the Kubernetes API answered {status}")


def _message(body: str | bytes | None, reason: str) -> str:
    try:
        return str(json.loads(body or "{}").get("message") or reason)[:300]
    except (ValueError, AttributeError):
        return reason


class NodeWriter:
    """Creates Nodes over one asynchronous HTTP/1.1 client with `connections`
    kept open, with the kubeconfig's (or the pod's) address, CA and
    credentials. It is the hot path of a large cluster: the synchronous
    client's threads contend for one interpreter and add per-request
    machinery, CPU taken from the cores the apiserver and the
    kwok-controller share (bench_virtual_nodes measures the path)."""

    def __init__(self, kube: Kube, connections: int, timeout: float) -> None:
        self.kube = kube
        self.connections = connections
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(connections)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            configuration = self.kube.api_client().configuration
            verify: ssl.SSLContext | bool = False
            if configuration.verify_ssl:
                verify = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
                if configuration.cert_file:
                    verify.load_cert_chain(configuration.cert_file, configuration.key_file)
            self._client = httpx.AsyncClient(
                base_url=configuration.host,
                verify=verify,
                timeout=self.timeout,
                limits=httpx.Limits(
                    max_connections=self.connections,
                    max_keepalive_connections=self.connections,
                ),
            )
        return self._client

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        # The credentials the Kubernetes client would send (a bearer token,
        # refreshed by its own hook: a pod's projected token is replaced by
        # the kubelet); client certificates are in the TLS context.
        settings: dict[str, dict[str, Any]] = self.kube.api_client().configuration.auth_settings()
        for auth in settings.values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[str(auth["key"])] = str(auth["value"])
        return headers

    async def create(self, document: dict[str, Any]) -> None:
        what = f"node {document['metadata']['name']}"
        async with self._slots:
            try:
                answer = await self._http().post(
                    "/api/v1/nodes", content=json.dumps(document), headers=self._headers()
                )
            except httpx.HTTPError as error:
                raise UnavailableError(
                    f"{what}: the Kubernetes API does not answer ({error!r})"
                ) from None
        if answer.status_code >= 300:
            raise typed_status(what, answer.status_code, answer.content, answer.reason_phrase)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _decoded(response: Any) -> dict[str, Any]:
    """The JSON body of a call made with `_preload_content=False`."""
    data: dict[str, Any] = json.loads(response.data)
    return data


class Nodes:
    def __init__(self, kube: Kube, writer: NodeWriter) -> None:
        self.kube = kube
        self.writer = writer

    async def create(self, document: dict[str, Any]) -> None:
        await self.writer.create(document)

    async def delete(self, name: str) -> None:
        """Deletes node `name`; one already gone is fine."""
        with contextlib.suppress(NotFoundError):
            await self.kube.call(
                f"node {name}", self.kube.core().delete_node, name, _preload_content=False
            )

    async def delete_all(self, selector: str) -> None:
        """Deletes every node matching the label selector in one request:
        the apiserver walks them itself (a request per node costs a round
        trip and this process's client work for each)."""
        await self.kube.call(
            f"nodes {selector}",
            self.kube.core().delete_collection_node,
            label_selector=selector,
            _preload_content=False,
        )

    async def matching(self, selector: str) -> list[dict[str, Any]]:
        """Nodes matching the label selector, as plain JSON (the client's
        models of 1,000 nodes cost more than the call)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"label_selector": selector, "limit": 500}
            if token:
                kwargs["_continue"] = token
            answer = _decoded(
                await self.kube.call(
                    "nodes", self.kube.core().list_node, _preload_content=False, **kwargs
                )
            )
            items.extend(answer.get("items") or ())
            token = (answer.get("metadata") or {}).get("continue")
            if not token:
                return items


class Records:
    """ConfigMaps in the scaler's namespace: one per virtual cluster."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace

    async def create(self, document: dict[str, Any]) -> None:
        name = document["metadata"]["name"]
        await self.kube.call(
            f"virtual cluster record {name}",
            self.kube.core().create_namespaced_config_map,
            self.namespace,
            document,
            _preload_content=False,
        )

    async def read(self, name: str) -> dict[str, Any]:
        return _decoded(
            await self.kube.call(
                f"virtual cluster record {name}",
                self.kube.core().read_namespaced_config_map,
                name,
                self.namespace,
                _preload_content=False,
            )
        )

    async def replace(self, document: dict[str, Any]) -> None:
        """Writes `document` over the record it was read as (its
        resourceVersion): a concurrent change is a ConflictError."""
        name = document["metadata"]["name"]
        await self.kube.call(
            f"virtual cluster record {name}",
            self.kube.core().replace_namespaced_config_map,
            name,
            self.namespace,
            document,
            _preload_content=False,
        )

    async def delete(self, name: str) -> None:
        with contextlib.suppress(NotFoundError):
            await self.kube.call(
                f"virtual cluster record {name}",
                self.kube.core().delete_namespaced_config_map,
                name,
                self.namespace,
                _preload_content=False,
            )

    async def matching(self, selector: str) -> list[dict[str, Any]]:
        answer = _decoded(
            await self.kube.call(
                "virtual cluster records",
                self.kube.core().list_namespaced_config_map,
                self.namespace,
                label_selector=selector,
                _preload_content=False,
            )
        )
        items: list[dict[str, Any]] = answer.get("items") or []
        return items


class Workflows:
    """The Workflows still running, to tell whether a cluster is in use."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace

    async def unfinished(self, selector: str) -> Sequence[dict[str, Any]]:
        # Argo labels a Workflow completed=true once it ended.
        answer = await self.kube.call(
            "workflows",
            self.kube.custom().list_namespaced_custom_object,
            "argoproj.io",
            "v1alpha1",
            self.namespace,
            "workflows",
            label_selector=f"{selector},workflows.argoproj.io/completed!=true",
            _preload_content=False,
        )
        items: list[dict[str, Any]] = _decoded(answer).get("items") or []
        return items
