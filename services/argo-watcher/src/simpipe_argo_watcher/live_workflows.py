"""The apiserver's current copy of one Workflow, for a read the watch has not
caught up with yet: a run is found as soon as the create that made it has
returned (read-your-writes), even when its first watch event is still on
its way."""

import asyncio
from collections.abc import Callable
from typing import cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simpipe_argo_watcher.convert import Workflow
from simpipe_common.errors import UnavailableError
from simpipe_common.ownership import LABEL_MANAGED


class LiveWorkflows:
    def __init__(
        self,
        kube: Callable[[], client.ApiClient],
        namespaces: tuple[str, ...],
        timeout_seconds: float,
    ) -> None:
        self._kube = kube
        self._namespaces = namespaces
        self._timeout = timeout_seconds

    async def get(self, name: str) -> Workflow | None:
        """The Workflow SIM-PIPE manages under `name` in any of the run
        namespaces (a name is in one at most); None if there is none."""
        for namespace in self._namespaces:
            workflow = await self._get(namespace, name)
            if workflow is not None:
                return workflow
        return None

    async def _get(self, namespace: str, name: str) -> Workflow | None:
        def read() -> Workflow:
            found = client.CustomObjectsApi(self._kube()).get_namespaced_custom_object(
                "argoproj.io", "v1alpha1", namespace, "workflows", name,
                _request_timeout=self._timeout,
            )  # fmt: skip
            return cast(Workflow, found)

        try:
            workflow = await asyncio.to_thread(read)
        except ApiException as error:
            if error.status == 404:
                return None
            raise UnavailableError("the cluster did not answer for the dry run") from None
        labels = (workflow.get("metadata") or {}).get("labels") or {}
        return workflow if labels.get(LABEL_MANAGED) == "true" else None
