"""Container registry logins of a user's, for pulling their dry runs' images.

Each is a `kubernetes.io/dockerconfigjson` Secret in the namespace of the
runs on real nodes (a Secret is only usable by pods of its own namespace),
labelled with its owner's hash and its name like the owner's Workflows.
Its object name is a hash of owner and name: one user's names never meet
another's, and it has no '.', so no document can name it (the workflow
policy admits only `simpipe-<project>.<name>` Secrets): the service alone
adds them to a run, all of the owner's (DryRuns.create).

Write-only: the password goes into the Secret and nowhere else; answers
carry the name, server and username, which are also kept as annotations
so that listing never decodes a Secret's data. Runs on virtual nodes pull
nothing and get none.
"""

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from kubernetes import client

from simpipe.v1 import workflow_submitter_pb2 as pb
from simpipe_common.errors import InvalidInputError, NotFoundError, ServiceError
from simpipe_common.kube import lazy_api_client
from simpipe_common.ownership import LABEL_OWNER_HASH, owner_hash, owner_of, stamp
from simpipe_workflow_submitter import validation
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings
from simpipe_workflow_submitter.kube import call

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
# The credential's name, on its Secret: the label selects an owner's
# credentials (with the owner hash), and says the Secret is one.
LABEL_NAME = "simpipe.io/registry-credential"
ANNOTATION_SERVER = "simpipe.io/registry-server"
ANNOTATION_USERNAME = "simpipe.io/registry-username"
NAME_PREFIX = "simpipe-registry-"

# A registry as docker login and the kubelet's keyring take it: an optional
# http(s) scheme, a host name or IPv4 address, an optional port and an
# optional path (Docker Hub's https://index.docker.io/v1/).
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_SERVER = re.compile(
    rf"(?:https?://)?{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::(?P<port>[0-9]{{1,5}}))?"
    r"(?:/[A-Za-z0-9._-]+)*/?"
)
MAX_SERVER_LENGTH = 253
# The name is a label value too.
MAX_NAME_LENGTH = 63
MAX_USERNAME_LENGTH = 256
# Registries' tokens (a cloud's service-account key) run to a few KB.
MAX_PASSWORD_LENGTH = 8192


class QuotaExceededError(ServiceError):
    """More credentials than one owner may keep."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "quota-exceeded"


@dataclass(frozen=True)
class Login:
    """A checked credential (what a create or update asks to store)."""

    name: str
    server: str
    username: str
    password: str

    def __repr__(self) -> str:
        # Never in a log line, an error or a debugger's view of it.
        return f"Login(name={self.name!r}, server={self.server!r}, username={self.username!r})"


def checked(request: pb.RegistryCredentialRequest) -> Login:
    """The request's credential, each field held to what the Secret, the
    kubelet and a registry accept; the password is never quoted back."""
    name = credential_name(request.name)
    server = request.server
    match = _SERVER.fullmatch(server) if len(server) <= MAX_SERVER_LENGTH else None
    if match is None or not 1 <= int(match["port"] or 1) <= 65535:
        raise InvalidInputError(
            f"server {server[:80]!r} is not valid: give a registry host[:port], optionally with"
            f" http:// or https:// and a path, in at most {MAX_SERVER_LENGTH} characters"
        )
    username = request.username
    # docker's auth field is "username:password": a ':' would end the name.
    if not _text(username, MAX_USERNAME_LENGTH) or ":" in username or username.strip() != username:
        raise InvalidInputError(
            f"username must be 1-{MAX_USERNAME_LENGTH} printable characters, without ':' or"
            " spaces around it"
        )
    if not _text(request.password, MAX_PASSWORD_LENGTH):
        raise InvalidInputError(f"password must be 1-{MAX_PASSWORD_LENGTH} printable characters")
    return Login(name, server, username, request.password)


def credential_name(value: str) -> str:
    """A Kubernetes name as the original SIM-PIPE's Secrets had (lower-case
    letters, digits, '-', '.'), short enough to be a label value."""
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"registry credential name {value[:80]!r} is not valid: at most {MAX_NAME_LENGTH}"
            " characters"
        )
    return validation.dns_subdomain("registry credential name", value)


def _text(value: str, max_length: int) -> bool:
    return 0 < len(value) <= max_length and value.isprintable()


def secret_name(owner: str, name: str) -> str:
    """The Secret of `owner`'s credential `name` ('\\n' cannot be in either)."""
    digest = hashlib.sha256(f"{owner}\n{name}".encode()).hexdigest()[:40]
    return NAME_PREFIX + digest


def selector(owner: str) -> str:
    return f"{LABEL_OWNER_HASH}={owner_hash(owner)},{LABEL_NAME}"


def docker_config(login: Login) -> str:
    """The Secret's `.dockerconfigjson`, as `docker login` writes one."""
    auth = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    entry = {"username": login.username, "password": login.password, "auth": auth}
    return json.dumps({"auths": {login.server: entry}}, sort_keys=True)


def _owner(secret: Any) -> str:
    return owner_of({"metadata": {"annotations": secret.metadata.annotations}})


def to_message(secret: Any) -> pb.RegistryCredential:
    """What is answered of a credential's Secret: never its data."""
    annotations = secret.metadata.annotations or {}
    return pb.RegistryCredential(
        name=(secret.metadata.labels or {}).get(LABEL_NAME, ""),
        server=annotations.get(ANNOTATION_SERVER, ""),
        username=annotations.get(ANNOTATION_USERNAME, ""),
    )


@dataclass
class RegistryCredentials:
    core: Callable[[], client.CoreV1Api]
    # Where runs on real nodes live (the submitter's SIMPIPE_NAMESPACE).
    namespace: str
    max_per_owner: int

    @classmethod
    def from_settings(cls, settings: WorkflowSubmitterSettings) -> "RegistryCredentials":
        api_client = lazy_api_client(settings.kubeconfig)
        return cls(
            core=lambda: client.CoreV1Api(api_client()),
            namespace=settings.namespace,
            max_per_owner=settings.max_registry_credentials,
        )

    def _body(self, owner: str, login: Login) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "name": secret_name(owner, login.name),
            "namespace": self.namespace,
            "labels": {LABEL_NAME: login.name},
            "annotations": {ANNOTATION_SERVER: login.server, ANNOTATION_USERNAME: login.username},
        }
        stamp(metadata, owner, "")
        encoded = base64.b64encode(docker_config(login).encode()).decode()
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": SECRET_TYPE,
            "metadata": metadata,
            "data": {DATA_KEY: encoded},
        }

    async def _listed(self, owner: str) -> list[Any]:
        found = await call(
            "registry credentials",
            self.core().list_namespaced_secret,
            self.namespace,
            label_selector=selector(owner),
        )
        # The label holds a hash of the owner: the owner itself is checked.
        return [s for s in found.items if _owner(s) == owner and s.type == SECRET_TYPE]

    async def _owned(self, owner: str, name: str) -> Any:
        credential_name(name)
        what = f"registry credential {name}"
        secret = await call(
            what, self.core().read_namespaced_secret, secret_name(owner, name), self.namespace
        )
        if _owner(secret) != owner:
            raise NotFoundError(f"{what} not found")
        return secret

    async def list(self, owner: str) -> list[pb.RegistryCredential]:
        validation.caller(owner)
        found = [to_message(s) for s in await self._listed(owner)]
        return sorted(found, key=lambda c: c.name)

    async def pull_secrets(self, document: dict[str, Any], owner: str) -> None:
        """A Workflow of `owner`'s on real nodes (before it is created) pulls
        its images with all of their credentials, besides the Secrets of its
        project it names itself (the policy admitted those)."""
        names = sorted(s.metadata.name for s in await self._listed(owner))
        if not names:
            return
        spec = document["spec"]
        named = [r for r in spec.get("imagePullSecrets") or [] if isinstance(r, dict)]
        known = {r.get("name") for r in named}
        spec["imagePullSecrets"] = named + [{"name": n} for n in names if n not in known]

    async def create(self, request: pb.RegistryCredentialRequest) -> pb.RegistryCredential:
        owner = validation.caller(request.caller)
        login = checked(request)
        # Counted before the create: concurrent creates may pass the bound
        # by their number, which is all it has to stop (an unbounded pile).
        if len(await self._listed(owner)) >= self.max_per_owner:
            raise QuotaExceededError(
                f"you have {self.max_per_owner} registry credentials, as many as one may:"
                " delete one first"
            )
        body = self._body(owner, login)
        await call(
            f"registry credential {login.name}",
            self.core().create_namespaced_secret,
            self.namespace,
            body,
        )
        return pb.RegistryCredential(name=login.name, server=login.server, username=login.username)

    async def update(self, request: pb.RegistryCredentialRequest) -> pb.RegistryCredential:
        owner = validation.caller(request.caller)
        login = checked(request)
        found = await self._owned(owner, login.name)
        # One deleted meanwhile stays deleted: a replace of none is NOT_FOUND.
        await call(
            f"registry credential {login.name}",
            self.core().replace_namespaced_secret,
            found.metadata.name,
            self.namespace,
            self._body(owner, login),
        )
        return pb.RegistryCredential(name=login.name, server=login.server, username=login.username)

    async def delete(self, owner: str, name: str) -> None:
        validation.caller(owner)
        found = await self._owned(owner, name)
        await call(
            f"registry credential {name}",
            self.core().delete_namespaced_secret,
            found.metadata.name,
            self.namespace,
        )
