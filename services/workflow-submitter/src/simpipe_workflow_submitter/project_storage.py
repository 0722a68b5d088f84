"""A dry run's S3 access, scoped to its project.

The storage-broker issues each project's S3 credentials (read/write under
the project's prefix of Argo's artifact bucket, read of the owner's input
files). Here they become, in the workflows' namespace, a Secret
`simpipe-<scope>-s3` and an Argo artifact repository ConfigMap
`simpipe-<scope>-artifacts` that keeps every file of the project's runs
under that prefix; each dry run is pointed at it (spec.artifactRepositoryRef)
and reads its input files with the project's Secret, never the root keys.
The scope is the project id, or `-<owner hash>` for an owner's runs outside
any project (no project id starts with '-', so no project can take it).
"""

import asyncio
import base64
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import grpc
from kubernetes import client
from pydantic_settings import BaseSettings, SettingsConfigDict

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe.v1 import storage_broker_pb2_grpc
from simpipe_common.errors import (
    REASON_KEY,
    ConflictError,
    FailedPreconditionError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.kube import lazy_api_client
from simpipe_common.ownership import owner_hash, stamp
from simpipe_common.settings import ENV_PREFIX, ServiceSettings
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings
from simpipe_workflow_submitter.kube import call

if TYPE_CHECKING:
    from simpipe.v1.storage_broker_pb2_grpc import StorageBrokerAsyncStub

# The ConfigMap's key of the repository, as artifactRepositoryRef names it.
REPOSITORY_KEY = "repository"
# Where in its artifact prefix Argo keeps a step's files.
KEY_FORMAT = "{{workflow.name}}/{{pod.name}}"


class ProjectStorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    storage_broker_addr: str = "127.0.0.1:50054"
    # Bounds each call to the storage-broker.
    storage_broker_timeout_seconds: float = 10.0


class ProjectCredentialsSource(Protocol):
    async def issue(self, owner: str, project_id: str) -> pb.ProjectCredentials: ...

    async def revoke(self, owner: str, project_id: str) -> None: ...


# The broker's typed refusals pass through as ours; anything else means it
# could not answer.
_PASSED_ON: dict[grpc.StatusCode, type[ServiceError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInputError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
}


class BrokerCredentials:
    """The storage-broker's project credentials, over the mesh."""

    def __init__(self, address: str, timeout: float, settings: ServiceSettings) -> None:
        self._address = address
        self._timeout = timeout
        self._settings = settings
        self._stub: StorageBrokerAsyncStub | None = None

    def _broker(self) -> "StorageBrokerAsyncStub":
        # An aio channel belongs to the running loop: made on first use.
        if self._stub is None:
            channel = mesh_channel(self._address, self._settings)
            self._stub = storage_broker_pb2_grpc.StorageBrokerStub(channel)
        return self._stub

    async def issue(self, owner: str, project_id: str) -> pb.ProjectCredentials:
        request = pb.ProjectCredentialsRequest(caller=owner, project_id=project_id)
        try:
            return await self._broker().IssueProjectCredentials(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise self._typed(error) from None

    async def revoke(self, owner: str, project_id: str) -> None:
        request = pb.ProjectCredentialsRequest(caller=owner, project_id=project_id)
        try:
            await self._broker().RevokeProjectCredentials(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise self._typed(error) from None

    def _typed(self, error: grpc.aio.AioRpcError) -> ServiceError:
        passed_on = _PASSED_ON.get(error.code())
        if passed_on is not None:
            reason = dict(error.trailing_metadata() or ()).get(REASON_KEY)
            return passed_on(error.details() or "", str(reason) if reason else None)
        return UnavailableError(
            f"the storage-broker at {self._address} did not answer: "
            f"{error.code().name} {error.details()}"
        )


def scope_name(owner: str, project_id: str) -> str:
    return project_id or f"-{owner_hash(owner)}"


def secret_name(owner: str, project_id: str) -> str:
    return f"simpipe-{scope_name(owner, project_id)}-s3"


def repository_name(owner: str, project_id: str) -> str:
    return f"simpipe-{scope_name(owner, project_id)}-artifacts"


def _secret_ref(name: str, key: str) -> dict[str, str]:
    return {"name": name, "key": key}


@dataclass
class ProjectStorage:
    credentials: ProjectCredentialsSource
    core: Callable[[], client.CoreV1Api]
    # Where runs live (KubernetesSettings.run_namespaces): a project's Secret
    # and ConfigMap are made in the namespace of each run that needs them.
    namespaces: tuple[str, ...]
    # S3 as the steps' pods reach it (Argo's host:port).
    endpoint: str
    insecure: bool

    @classmethod
    def from_environment(cls) -> "ProjectStorage":
        submitter, own = WorkflowSubmitterSettings(), ProjectStorageSettings()
        api_client = lazy_api_client(submitter.kubeconfig)
        return cls(
            credentials=BrokerCredentials(
                own.storage_broker_addr, own.storage_broker_timeout_seconds, submitter
            ),
            core=lambda: client.CoreV1Api(api_client()),
            namespaces=submitter.run_namespaces,
            endpoint=submitter.artifact_s3_endpoint,
            insecure=submitter.artifact_s3_insecure,
        )

    async def attach(
        self, document: dict[str, Any], owner: str, project_id: str, namespace: str
    ) -> None:
        """Point a dry run (before it is created) at its project's storage:
        artifacts under the project's prefix, read and written with the
        project's credentials, as are its input files (spec.arguments)."""
        secret = secret_name(owner, project_id)
        repository = repository_name(owner, project_id)
        api = self.core()
        # The credentials and what the namespace has now, asked at once: each
        # is a round trip, and they were most of a create's time one by one.
        issued, secret_found, repository_found = await asyncio.gather(
            self.credentials.issue(owner, project_id),
            _found(f"secret {secret}", api.read_namespaced_secret, secret, namespace),
            _found(f"config map {repository}", api.read_namespaced_config_map, repository, namespace),
        )  # fmt: skip
        spec = document["spec"]
        arguments = spec.get("arguments")
        for artifact in (arguments.get("artifacts") or []) if isinstance(arguments, dict) else []:
            s3 = artifact.get("s3") if isinstance(artifact, dict) else None
            if isinstance(s3, dict) and s3.get("bucket"):
                self._read_with_project_credentials(s3, secret, issued)
        spec["artifactRepositoryRef"] = {"configMap": repository, "key": REPOSITORY_KEY}
        await self._ensure_secret(namespace, secret, owner, project_id, issued, secret_found)
        await self._ensure_repository(
            namespace, repository, secret, owner, project_id, issued, repository_found
        )

    def _read_with_project_credentials(
        self, s3: dict[str, Any], secret: str, issued: pb.ProjectCredentials
    ) -> None:
        """An input file named as its owner sees it, as S3 has it."""
        bucket, key = str(s3["bucket"]), str(s3.get("key", ""))
        if bucket in (issued.upload_bucket, issued.artifact_bucket):
            s3["key"] = issued.owner_prefix + key
        elif bucket not in issued.readable_buckets:
            # Another owner's bucket, or one that is nobody's: as if none.
            raise NotFoundError(f"input file bucket {bucket!r} not found")
        s3["accessKeySecret"] = _secret_ref(secret, "accesskey")
        s3["secretKeySecret"] = _secret_ref(secret, "secretkey")

    @staticmethod
    def _metadata(namespace: str, name: str, owner: str, project_id: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name, "namespace": namespace}
        stamp(metadata, owner, project_id)
        return metadata

    async def _ensure_secret(
        self,
        namespace: str,
        name: str,
        owner: str,
        project_id: str,
        issued: pb.ProjectCredentials,
        found: Any,
    ) -> None:
        data = {"accesskey": issued.access_key, "secretkey": issued.secret_key}
        metadata = self._metadata(namespace, name, owner, project_id)
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": _b64(data)}
        api = self.core()
        await self._ensure(
            f"secret {name}", body, found, api.create_namespaced_secret,
            api.replace_namespaced_secret,
        )  # fmt: skip

    async def _ensure_repository(
        self,
        namespace: str,
        name: str,
        secret: str,
        owner: str,
        project_id: str,
        issued: pb.ProjectCredentials,
        found: Any,
    ) -> None:
        repository = {
            # Step logs are kept with the other files (the argo-watcher and
            # the GUI read them there once the pods are gone).
            "archiveLogs": True,
            "s3": {
                "bucket": issued.artifact_bucket,
                "endpoint": self.endpoint,
                "insecure": self.insecure,
                "keyFormat": issued.artifact_prefix + KEY_FORMAT,
                "accessKeySecret": _secret_ref(secret, "accesskey"),
                "secretKeySecret": _secret_ref(secret, "secretkey"),
            },
        }
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self._metadata(namespace, name, owner, project_id),
            "data": {REPOSITORY_KEY: json.dumps(repository, sort_keys=True)},
        }
        api = self.core()
        await self._ensure(
            f"config map {name}", body, found, api.create_namespaced_config_map,
            api.replace_namespaced_config_map,
        )  # fmt: skip

    async def _ensure(
        self,
        what: str,
        body: dict[str, Any],
        found: Any,
        create: Callable[..., Any],
        replace: Callable[..., Any],
    ) -> None:
        """`body` in its namespace, given what it has now (`found`, None when
        nothing): a write only when it is not there or differs (its data or
        labels)."""
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        if found is None:
            try:
                await call(what, create, namespace, body)
                return
            except ConflictError:
                found = None  # made by a concurrent dry run of the project
        if found is None or (found.data, found.metadata.labels) != (
            body["data"],
            body["metadata"]["labels"],
        ):
            await call(what, replace, name, namespace, body)

    async def forget(self, owner: str, project_id: str) -> None:
        """After a project's runs are deleted: its credentials revoked, its
        Secret and ConfigMap gone."""
        await self.credentials.revoke(owner, project_id)
        api = self.core()
        for namespace in self.namespaces:
            for what, delete, name in (
                ("secret", api.delete_namespaced_secret, secret_name(owner, project_id)),
                (
                    "config map",
                    api.delete_namespaced_config_map,
                    repository_name(owner, project_id),
                ),
            ):
                # None there: the project never ran anything there.
                with suppress(NotFoundError):
                    await call(f"{what} {name}", delete, name, namespace)


async def _found(what: str, read: Callable[..., Any], name: str, namespace: str) -> Any:
    """The object `read` finds, or None when there is none."""
    try:
        return await call(what, read, name, namespace)
    except NotFoundError:
        return None


def _b64(data: dict[str, str]) -> dict[str, str]:
    """A Secret's data as the API keeps (and answers) it."""
    return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
