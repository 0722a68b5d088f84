"""The Argo server, through hera: Argo checks every document before it is
stored, and runs the lifecycle commands on Workflows.

Creates, the hot path (a parameter sweep makes hundreds), are sent by an
asyncio client (argo_http), with hera's Workflow model explaining a refusal;
everything else goes through hera's WorkflowsService in a worker thread.

Both send the service's ServiceAccount token (the Argo server runs with
`--auth-mode=client` and acts with it). A 401 is the server's gatekeeper
refusing before anything is done, so a call refused with a token that has
since been replaced is sent once more with the new one.
"""

import asyncio
import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from hera import exceptions as hera_errors
from hera.exceptions import exception_from_status_code
from hera.workflows import WorkflowsService
from hera.workflows.models import (
    Workflow,
    WorkflowResubmitRequest,
    WorkflowResumeRequest,
    WorkflowRetryRequest,
    WorkflowStopRequest,
    WorkflowSuspendRequest,
    WorkflowTemplate,
    WorkflowTemplateCreateRequest,
    WorkflowTemplateUpdateRequest,
    WorkflowTerminateRequest,
)
from pydantic.v1 import ValidationError

from simpipe_common.argo_auth import ArgoToken
from simpipe_common.errors import (
    ConflictError,
    InvalidArgoDocumentError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)
from simpipe_common.ownership import owner_selector
from simpipe_workflow_submitter.argo_http import Answer, ArgoHttp, ArgoHttpError
from simpipe_workflow_submitter.documents import REASONS, WORKFLOW, WORKFLOW_TEMPLATE

T = TypeVar("T")
# How long a create may take at most (hera's own calls have no limit).
CREATE_TIMEOUT_SECONDS = 30.0
# What get_workflow asks Argo for (its `fields` filter).
_METADATA = "metadata.name,metadata.namespace,metadata.uid,metadata.labels,metadata.annotations"


@dataclass(frozen=True)
class CreatedWorkflow:
    name: str
    uid: str


def _message(error: Exception) -> str:
    # hera wraps the server's message in its own sentence; keep Argo's words.
    text = str(error)
    return text.split("with message: ", 1)[-1].strip("`")


def _server_message(answer: Answer) -> str:
    """Argo's error text: the JSON body's message, or the body itself."""
    try:
        message = json.loads(answer.body).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else answer.body[:500].decode(errors="replace")


@contextmanager
def _typed(what: str, kind: str) -> Iterator[None]:
    """hera's failures (and the transport's) as the service's typed errors."""
    try:
        yield
    except hera_errors.NotFound:
        raise NotFoundError(f"{what} not found") from None
    except hera_errors.AlreadyExists:
        raise ConflictError(f"{what} already exists") from None
    except hera_errors.BadRequest as error:
        raise InvalidArgoDocumentError(
            f"Argo rejected the {kind}: {_message(error)}", REASONS[kind]
        ) from None
    except (hera_errors.InternalServerError, requests.RequestException, ArgoHttpError) as error:
        raise UnavailableError(f"{what}: the Argo server failed: {_message(error)}") from None
    except (hera_errors.Unauthorized, hera_errors.Forbidden) as error:
        # The service's own credentials or RBAC, not the caller's request.
        raise UnavailableError(
            f"{what}: the Argo server refused the service's credentials: {_message(error)}"
        ) from None
    except hera_errors.HeraException as error:
        raise ServiceError(f"{what}: {_message(error)}") from None


def _plain(model: Any) -> dict[str, Any]:
    """A hera model as JSON-ready data (timestamps as Argo writes them)."""
    data: dict[str, Any] = json.loads(model.json(by_alias=True, exclude_none=True))
    return data


class Argo:
    """Argo validates a document when it is created (400 on any problem, and
    nothing is stored), so there is no separate lint round trip."""

    def __init__(
        self,
        server_url: str,
        namespace: str,
        token: ArgoToken | None = None,
        run_namespaces: tuple[str, ...] = (),
    ) -> None:
        """`namespace`: the WorkflowTemplates'; `run_namespaces`: where
        Workflows may be (default: `namespace`), searched in that order."""
        self.namespace = namespace
        self.run_namespaces = run_namespaces or (namespace,)
        self.token = token or ArgoToken(None)
        self.service = WorkflowsService(host=server_url, verify_ssl=False, namespace=namespace)
        self.http = ArgoHttp(server_url, verify_ssl=False, timeout_seconds=CREATE_TIMEOUT_SECONDS)

    async def _call(self, what: str, kind: str, fn: Callable[..., T], *args: Any) -> T:
        with _typed(what, kind):
            # hera sends its `token` attribute with every request.
            used = self.service.token = self.token.header()
            try:
                return await asyncio.to_thread(fn, *args)
            except hera_errors.Unauthorized:
                if not self.token.replaced(used):
                    raise
            self.service.token = self.token.header()
            return await asyncio.to_thread(fn, *args)

    @staticmethod
    def _model(cls: type[T], document: dict[str, Any], kind: str) -> T:
        try:
            return cls.parse_obj(document)  # type: ignore[attr-defined, no-any-return]
        except ValidationError as error:
            raise InvalidArgoDocumentError(
                f"not a valid Argo {kind}: {error}".replace("\n", "; "), REASONS[kind]
            ) from None

    # Workflows (dry runs)
    async def create_workflow(self, document: dict[str, Any]) -> CreatedWorkflow:
        """Argo checks the document as written, as `argo submit` would have it;
        hera's model is asked only when Argo refuses it, for the path of each
        problem (and it would coerce values Argo reads otherwise, such as a
        YAML `true` in a string field)."""
        name = document["metadata"].get("name", "new workflow")
        try:
            body = json.dumps({"workflow": document}).encode()
        except (TypeError, ValueError):
            self._model(Workflow, document, WORKFLOW)  # names the field, when it can
            raise InvalidArgoDocumentError(
                "the Workflow holds values that are not JSON", REASONS[WORKFLOW]
            ) from None
        path = f"/api/v1/workflows/{document['metadata'].get('namespace') or self.namespace}"
        with _typed(name, WORKFLOW):
            used = self.token.header()
            answer = await self.http.post_json(path, body, used)
            if answer.status == 401 and self.token.replaced(used):
                answer = await self.http.post_json(path, body, self.token.header())
            if answer.status == 400:
                self._model(Workflow, document, WORKFLOW)
            if answer.status != 200:
                raise exception_from_status_code(answer.status, _server_message(answer))
            try:
                # Only the identity is needed, not the whole stored Workflow.
                metadata = json.loads(answer.body)["metadata"]
                return CreatedWorkflow(name=str(metadata["name"]), uid=str(metadata["uid"]))
            except (ValueError, KeyError, TypeError) as error:
                raise ArgoHttpError(f"an answer without the Workflow's metadata: {error}") from None

    async def close(self) -> None:
        await self.http.close()

    async def _on_workflow(
        self, name: str, namespace: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        call = functools.partial(fn, namespace=namespace, **kwargs)
        return await self._call(f"dry run {name}", WORKFLOW, call, name, *args)

    async def get_workflow(self, name: str, namespace: str = "") -> dict[str, Any]:
        """The Workflow's metadata only: all a command checks (owner, project,
        namespace). Its spec and status, every node included, stay on the Argo
        server. Without `namespace`, looked for in each run namespace."""
        for where in (namespace,) if namespace else self.run_namespaces:
            with suppress(NotFoundError):
                found = await self._on_workflow(
                    name, where, self.service.get_workflow, fields=_METADATA
                )
                return _plain(found)
        raise NotFoundError(f"dry run {name} not found")

    async def suspend(self, name: str, namespace: str) -> None:
        await self._on_workflow(
            name, namespace, self.service.suspend_workflow, WorkflowSuspendRequest()
        )

    async def resume(self, name: str, namespace: str) -> None:
        await self._on_workflow(
            name, namespace, self.service.resume_workflow, WorkflowResumeRequest()
        )

    async def retry(self, name: str, namespace: str) -> None:
        await self._on_workflow(
            name, namespace, self.service.retry_workflow, WorkflowRetryRequest()
        )

    async def resubmit(self, name: str, namespace: str) -> str:
        """The name of the copy (in the original's namespace)."""
        copy = await self._on_workflow(
            name, namespace, self.service.resubmit_workflow, WorkflowResubmitRequest()
        )
        return str(copy.metadata.name)

    async def stop(self, name: str, namespace: str) -> None:
        await self._on_workflow(name, namespace, self.service.stop_workflow, WorkflowStopRequest())

    async def terminate(self, name: str, namespace: str) -> None:
        await self._on_workflow(
            name, namespace, self.service.terminate_workflow, WorkflowTerminateRequest()
        )

    async def delete_workflow(self, name: str, namespace: str) -> None:
        await self._on_workflow(name, namespace, self.service.delete_workflow)

    # WorkflowTemplates (pipelines)
    async def create_template(self, document: dict[str, Any]) -> dict[str, Any]:
        template = self._model(WorkflowTemplate, document, WORKFLOW_TEMPLATE)
        name = document["metadata"].get("name", "new template")
        created = await self._call(
            name, WORKFLOW_TEMPLATE, self.service.create_workflow_template,
            WorkflowTemplateCreateRequest(template=template),
        )  # fmt: skip
        return _plain(created)

    async def update_template(self, name: str, document: dict[str, Any]) -> dict[str, Any]:
        template = self._model(WorkflowTemplate, document, WORKFLOW_TEMPLATE)
        updated = await self._call(
            f"workflow template {name}", WORKFLOW_TEMPLATE, self.service.update_workflow_template,
            name, WorkflowTemplateUpdateRequest(template=template),
        )  # fmt: skip
        return _plain(updated)

    async def get_template(self, name: str) -> dict[str, Any]:
        found = await self._call(
            f"workflow template {name}", WORKFLOW_TEMPLATE, self.service.get_workflow_template, name
        )
        return _plain(found)

    async def list_templates(self, caller: str, project_id: str) -> list[dict[str, Any]]:
        selector = owner_selector(caller, project_id)
        found = await self._call(
            "workflow templates", WORKFLOW_TEMPLATE, self.service.list_workflow_templates,
            None, None, selector,
        )  # fmt: skip
        return [_plain(t) for t in found.items or []]

    async def delete_template(self, name: str) -> None:
        await self._call(
            f"workflow template {name}",
            WORKFLOW_TEMPLATE,
            self.service.delete_workflow_template,
            name,
        )
