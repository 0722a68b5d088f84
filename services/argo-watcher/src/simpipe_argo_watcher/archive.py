"""Argo's workflow archive (PostgreSQL, behind the Argo server's API): dry runs
whose Workflow object is gone, and the step logs Argo archived to S3.

Every request carries the service's ServiceAccount token (the Argo server
runs with `--auth-mode=client`); one refused with 401 is sent once more if
the token file has a new token by then (they expire and are replaced)."""

from typing import Any

import httpx

from simpipe_argo_watcher.convert import Workflow
from simpipe_common.argo_auth import ArgoToken
from simpipe_common.errors import NotFoundError, UnavailableError

HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404


class ArgoArchive:
    def __init__(
        self,
        argo_server_url: str,
        namespaces: tuple[str, ...],
        timeout: float,
        token: ArgoToken | None = None,
    ) -> None:
        """`namespaces`: where runs are, the first where a run that does not
        say (archived before runs said) is."""
        self._url = argo_server_url.rstrip("/")
        self._namespaces = namespaces
        self._token = token or ArgoToken(None)
        self._http = httpx.AsyncClient(base_url=self._url, timeout=timeout)

    async def list(self, label_selector: str, name: str = "") -> list[Workflow]:
        """Archived Workflows matching the selector (and name), without their nodes:
        Argo's archive lists summaries."""
        items: list[Workflow] = []
        # One list per namespace: the services may read only their own.
        for namespace in self._namespaces:
            params = {"namespace": namespace, "listOptions.labelSelector": label_selector}
            if name:
                params["listOptions.fieldSelector"] = f"metadata.name={name}"
            body = await self._get_json("/api/v1/archived-workflows", params)
            items += (body or {}).get("items") or []
        return items

    async def get(self, uid: str) -> Workflow | None:
        """The whole archived Workflow, nodes included."""
        found: Workflow | None = await self._get_json(f"/api/v1/archived-workflows/{uid}", {})
        return found

    async def step_log(
        self, namespace: str, name: str, uid: str, node_id: str, archived: bool
    ) -> str:
        """The `main-logs` artifact Argo keeps in S3 when archiveLogs is on, of
        node `node_id` of the Workflow `name` (`uid` once it is archived)."""
        where = f"archived-workflows/{uid}" if archived else f"workflows/{name}"
        namespace = namespace or self._namespaces[0]
        path = f"/artifact-files/{namespace}/{where}/{node_id}/outputs/main-logs"
        response = await self._found(path, {})
        if response is None:
            raise NotFoundError(
                f"the archived log of step {node_id} could not be read "
                f"(Argo server: HTTP {HTTP_NOT_FOUND})"
            )
        return response.text

    async def close(self) -> None:
        await self._http.aclose()

    async def _get_json(self, path: str, params: dict[str, str]) -> Any:
        response = await self._found(path, params)
        return None if response is None else response.json()

    async def _found(self, path: str, params: dict[str, str]) -> httpx.Response | None:
        """The answer; None when the Argo server has no such thing (404), any
        other failure is UnavailableError."""
        response = await self._request(path, params)
        if response.status_code == HTTP_NOT_FOUND:
            return None
        if response.status_code >= 400:
            raise UnavailableError(
                f"Argo server at {self._url} answered HTTP {response.status_code} "
                f"for {path}: {response.text[:200]}"
            )
        return response

    async def _request(self, path: str, params: dict[str, str]) -> httpx.Response:
        try:
            used = self._token.header()
            response = await self._get(path, params, used)
            if response.status_code == HTTP_UNAUTHORIZED and self._token.replaced(used):
                response = await self._get(path, params, self._token.header())
            return response
        except httpx.HTTPError as error:
            raise UnavailableError(
                f"Argo server at {self._url} does not answer: {type(error).__name__}: {error}"
            ) from error

    async def _get(
        self, path: str, params: dict[str, str], authorization: str | None
    ) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization else None
        return await self._http.get(path, params=params, headers=headers)
