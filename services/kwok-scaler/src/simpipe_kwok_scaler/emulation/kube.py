"""The emulation's Kubernetes calls, blocking (run on a thread pool by the
caller). Objects travel as plain JSON: the emulation reads a few fields of
many pods, and the client's typed models would cost more than the calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simpipe_kwok_scaler.emulation import task_result

HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
WORKFLOWS = ("argoproj.io", "v1alpha1", "workflows")


def decoded(response: Any) -> Any:
    """The JSON body of a call made with `_preload_content=False` (the
    client then answers its raw HTTP response, whatever its stubs say)."""
    return json.loads(response.data)


class EmulationKube:
    def __init__(self, api: Callable[[], client.ApiClient], timeout: float) -> None:
        self._api = api
        self._timeout = timeout

    def create_task_result(self, document: dict[str, Any]) -> bool:
        """True if created, False if one of that name was there already
        (written before a restart, or by a real executor)."""
        metadata = document["metadata"]
        try:
            client.CustomObjectsApi(self._api()).create_namespaced_custom_object(
                task_result.GROUP, task_result.VERSION, metadata["namespace"],
                task_result.PLURAL, document, _request_timeout=self._timeout,
                _preload_content=False,
            )  # fmt: skip
        except ApiException as error:
            if error.status == HTTP_CONFLICT:
                return False
            raise
        return True

    def node_kind(self, name: str, kind_label: str) -> str | None:
        """The node's kind label if KWOK manages it (its annotation says
        so), "" for any other node, None if there is no such node."""
        try:
            response = client.CoreV1Api(self._api()).read_node(
                name, _request_timeout=self._timeout, _preload_content=False
            )
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return None
            raise
        metadata = decoded(response).get("metadata") or {}
        if (metadata.get("annotations") or {}).get(KWOK_NODE_ANNOTATION) != "fake":
            return ""
        return str((metadata.get("labels") or {}).get(kind_label, ""))

    def config_map_value(self, namespace: str, name: str, key: str) -> str | None:
        try:
            response = client.CoreV1Api(self._api()).read_namespaced_config_map(
                name, namespace, _request_timeout=self._timeout, _preload_content=False
            )
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return None
            raise
        value = (decoded(response).get("data") or {}).get(key)
        return value if isinstance(value, str) else None

    def annotate_pod(self, namespace: str, name: str, annotations: dict[str, str]) -> bool:
        """False if the pod is gone."""
        try:
            client.CoreV1Api(self._api()).patch_namespaced_pod(
                name, namespace, {"metadata": {"annotations": annotations}},
                _request_timeout=self._timeout, _preload_content=False,
            )  # fmt: skip
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return False
            raise
        return True

    def workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            response = client.CustomObjectsApi(self._api()).get_namespaced_custom_object(
                *WORKFLOWS[:2], namespace, WORKFLOWS[2], name,
                _request_timeout=self._timeout, _preload_content=False,
            )  # fmt: skip
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return None
            raise
        found: dict[str, Any] = decoded(response)
        return found
