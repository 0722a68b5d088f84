"""Registry credentials as Secrets of the runs' namespace (over a stand-in
for the Kubernetes API that keeps Secrets as it does): each field checked
with a typed refusal, the password stored and never answered, one owner's
credentials invisible to another, and a run on real nodes naming all of
its owner's."""

import base64
import json
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from simpipe.v1 import workflow_submitter_pb2 as pb
from simpipe_common.errors import (
    ConflictError,
    InvalidArgoDocumentError,
    InvalidInputError,
    NotFoundError,
)
from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_OWNER_HASH, owner_hash
from simpipe_workflow_submitter.api import WorkflowSubmitterApi
from simpipe_workflow_submitter.config import WorkflowPolicySettings
from simpipe_workflow_submitter.documents import WORKFLOW
from simpipe_workflow_submitter.policy import Scope, WorkflowPolicy
from simpipe_workflow_submitter.registry_credentials import (
    LABEL_NAME,
    SECRET_TYPE,
    QuotaExceededError,
    RegistryCredentials,
    secret_name,
)

ALICE, BOB = "alice@example.org", "bob@example.org"
NAMESPACE = "simpipe"
PASSWORD = "s3cret-Passw0rd!"


class FakeCore:
    """Secrets of one namespace, as the API keeps and answers them (data
    base64, label selectors of `key=value` and `key` terms)."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _object(body: dict[str, Any]) -> SimpleNamespace:
        meta = body["metadata"]
        return SimpleNamespace(
            type=body.get("type"),
            data=body.get("data"),
            metadata=SimpleNamespace(
                name=meta["name"],
                labels=meta.get("labels"),
                annotations=meta.get("annotations"),
            ),
        )

    def list_namespaced_secret(self, namespace: str, label_selector: str = "") -> SimpleNamespace:
        assert namespace == NAMESPACE
        terms = [t.partition("=") for t in label_selector.split(",") if t]

        def selected(body: dict[str, Any]) -> bool:
            labels = body["metadata"].get("labels") or {}
            return all(k in labels and (not eq or labels[k] == v) for k, eq, v in terms)

        return SimpleNamespace(
            items=[self._object(b) for b in self.secrets.values() if selected(b)]
        )

    def read_namespaced_secret(self, name: str, namespace: str) -> SimpleNamespace:
        assert namespace == NAMESPACE
        if name not in self.secrets:
            raise ApiException(status=404, reason="Not Found")
        return self._object(self.secrets[name])

    def create_namespaced_secret(self, namespace: str, body: dict[str, Any]) -> None:
        assert namespace == NAMESPACE == body["metadata"]["namespace"]
        if body["metadata"]["name"] in self.secrets:
            raise ApiException(status=409, reason="AlreadyExists")
        self.secrets[body["metadata"]["name"]] = json.loads(json.dumps(body))

    def replace_namespaced_secret(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        assert namespace == NAMESPACE
        assert body["metadata"]["name"] == name
        if name not in self.secrets:
            raise ApiException(status=404, reason="Not Found")
        self.secrets[name] = json.loads(json.dumps(body))

    def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        assert namespace == NAMESPACE
        if self.secrets.pop(name, None) is None:
            raise ApiException(status=404, reason="Not Found")


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def credentials(core: FakeCore) -> RegistryCredentials:
    return RegistryCredentials(lambda: core, NAMESPACE, max_per_owner=3)  # type: ignore[arg-type,return-value]


def request(
    caller: str = ALICE,
    name: str = "ghcr",
    server: str = "ghcr.io",
    username: str = "alice",
    password: str = PASSWORD,
) -> pb.RegistryCredentialRequest:
    return pb.RegistryCredentialRequest(
        caller=caller, name=name, server=server, username=username, password=password
    )


def docker_config(core: FakeCore, owner: str, name: str) -> dict[str, Any]:
    secret = core.secrets[secret_name(owner, name)]
    assert secret["type"] == SECRET_TYPE
    config: dict[str, Any] = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    return config


async def test_a_credential_is_a_dockerconfigjson_secret_of_its_owner(
    credentials: RegistryCredentials, core: FakeCore
) -> None:
    answered = await credentials.create(request())
    assert answered == pb.RegistryCredential(name="ghcr", server="ghcr.io", username="alice")
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert docker_config(core, ALICE, "ghcr") == {
        "auths": {"ghcr.io": {"username": "alice", "password": PASSWORD, "auth": auth}}
    }
    metadata = core.secrets[secret_name(ALICE, "ghcr")]["metadata"]
    assert metadata["labels"][LABEL_OWNER_HASH] == owner_hash(ALICE)
    assert metadata["labels"][LABEL_NAME] == "ghcr"
    assert metadata["annotations"][ANNOTATION_OWNER] == ALICE
    # The password is in the Secret's data and nowhere else of it.
    assert PASSWORD not in json.dumps(metadata)


async def test_secret_names_neither_collide_nor_can_be_named_by_a_document() -> None:
    names = {secret_name(o, n) for o in (ALICE, BOB) for n in ("a", "b")}
    assert len(names) == 4
    # No '.': the policy admits only `simpipe-<project>.<name>` Secrets.
    assert all("." not in n and len(n) <= 63 for n in names)


async def test_list_answers_no_password_and_only_the_callers(
    credentials: RegistryCredentials,
) -> None:
    await credentials.create(request(name="ghcr"))
    await credentials.create(request(name="quay", server="https://quay.io", username="al"))
    await credentials.create(request(caller=BOB, name="ghcr", username="bob"))
    mine = await credentials.list(ALICE)
    assert [(c.name, c.server, c.username) for c in mine] == [
        ("ghcr", "ghcr.io", "alice"), ("quay", "https://quay.io", "al"),
    ]  # fmt: skip
    assert [(c.name, c.username) for c in await credentials.list(BOB)] == [("ghcr", "bob")]
    assert PASSWORD not in str(mine)
    assert "password" not in pb.RegistryCredential.DESCRIPTOR.fields_by_name


async def test_another_owners_credential_is_not_found(
    credentials: RegistryCredentials, core: FakeCore
) -> None:
    await credentials.create(request(caller=BOB, name="shared"))
    with pytest.raises(NotFoundError):
        await credentials.update(request(caller=ALICE, name="shared", password="mine"))
    with pytest.raises(NotFoundError):
        await credentials.delete(ALICE, "shared")
    assert docker_config(core, BOB, "shared")["auths"]["ghcr.io"]["password"] == PASSWORD
    # A Secret of that name whose owner is someone else (a hash collision,
    # an edited object) is not the caller's either.
    core.secrets[secret_name(ALICE, "forged")] = {
        **core.secrets[secret_name(BOB, "shared")],
        "metadata": {
            **core.secrets[secret_name(BOB, "shared")]["metadata"],
            "name": secret_name(ALICE, "forged"),
        },
    }
    with pytest.raises(NotFoundError):
        await credentials.delete(ALICE, "forged")


async def test_create_update_and_delete_by_name(
    credentials: RegistryCredentials, core: FakeCore
) -> None:
    with pytest.raises(NotFoundError):
        await credentials.update(request())
    with pytest.raises(NotFoundError):
        await credentials.delete(ALICE, "ghcr")
    await credentials.create(request())
    with pytest.raises(ConflictError):
        await credentials.create(request(password="other"))
    updated = await credentials.update(
        request(server="registry.local:5000", username="al", password="new-one")
    )
    assert updated == pb.RegistryCredential(
        name="ghcr", server="registry.local:5000", username="al"
    )
    assert docker_config(core, ALICE, "ghcr")["auths"] == {
        "registry.local:5000": {
            "username": "al",
            "password": "new-one",
            "auth": base64.b64encode(b"al:new-one").decode(),
        }
    }
    assert [c.server for c in await credentials.list(ALICE)] == ["registry.local:5000"]
    await credentials.delete(ALICE, "ghcr")
    assert core.secrets == {}
    assert await credentials.list(ALICE) == []


async def test_an_owner_keeps_a_bounded_number(credentials: RegistryCredentials) -> None:
    for name in ("a", "b", "c"):
        await credentials.create(request(name=name))
    with pytest.raises(QuotaExceededError) as caught:
        await credentials.create(request(name="d"))
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Another owner's count is their own.
    await credentials.create(request(caller=BOB, name="d"))
    await credentials.delete(ALICE, "a")
    await credentials.create(request(name="d"))


BAD_FIELDS = [
    ({"name": ""}, "name"),
    ({"name": "Upper"}, "name"),
    ({"name": "a" * 64}, "name"),
    ({"name": "two..dots"}, "name"),
    ({"name": "under_score"}, "name"),
    ({"name": "-dash"}, "name"),
    ({"server": ""}, "server"),
    ({"server": "ftp://ghcr.io"}, "server"),
    ({"server": "ghcr.io:99999"}, "server"),
    ({"server": "ghcr.io:0"}, "server"),
    ({"server": "ghcr io"}, "server"),
    ({"server": "user@ghcr.io"}, "server"),
    ({"server": "ghcr.io/a?b"}, "server"),
    ({"server": "-ghcr.io"}, "server"),
    ({"server": "a" * 254}, "server"),
    ({"username": ""}, "username"),
    ({"username": "a:b"}, "username"),
    ({"username": " alice"}, "username"),
    ({"username": "al\nice"}, "username"),
    ({"username": "a" * 257}, "username"),
    ({"password": ""}, "password"),
    ({"password": "line\nbreak"}, "password"),
    ({"password": "tab\there"}, "password"),
    ({"password": "x" * 8193}, "password"),
    ({"caller": ""}, "caller"),
]


@pytest.mark.parametrize(("change", "field"), BAD_FIELDS)
async def test_each_field_is_checked_with_a_typed_refusal(
    credentials: RegistryCredentials, core: FakeCore, change: dict[str, str], field: str
) -> None:
    for write in (credentials.create, credentials.update):
        with pytest.raises(InvalidInputError) as caught:
            await write(request(**change))
        assert field in caught.value.message
        # The refusal never quotes a password back.
        if change.get("password"):
            assert change["password"][:8] not in caught.value.message
    assert core.secrets == {}


async def test_a_name_may_have_dots_as_the_original_guis_did(
    credentials: RegistryCredentials, core: FakeCore
) -> None:
    await credentials.create(request(name="my.registry-1"))
    assert [c.name for c in await credentials.list(ALICE)] == ["my.registry-1"]
    assert "." not in secret_name(ALICE, "my.registry-1")
    await credentials.delete(ALICE, "my.registry-1")


@pytest.mark.parametrize(
    "server",
    [
        "ghcr.io", "registry.local:5000", "127.0.0.1:5000", "localhost",
        "https://index.docker.io/v1/", "http://registry.local:5000", "Registry.Example.COM",
    ],
)  # fmt: skip
async def test_registry_addresses_as_docker_login_takes_them(
    credentials: RegistryCredentials, core: FakeCore, server: str
) -> None:
    await credentials.create(request(server=server))
    assert list(docker_config(core, ALICE, "ghcr")["auths"]) == [server]


async def test_a_run_names_all_its_owners_credentials_after_its_own(
    credentials: RegistryCredentials,
) -> None:
    await credentials.create(request(name="a"))
    await credentials.create(request(name="b"))
    await credentials.create(request(caller=BOB, name="c"))
    document: dict[str, Any] = {"spec": {"imagePullSecrets": [{"name": "simpipe-p.own"}]}}
    await credentials.pull_secrets(document, ALICE)
    assert document["spec"]["imagePullSecrets"] == [
        {"name": "simpipe-p.own"},
        *sorted(({"name": secret_name(ALICE, n)} for n in ("a", "b")), key=lambda r: r["name"]),
    ]
    # Without credentials the document is left as it is.
    bare: dict[str, Any] = {"spec": {}}
    await credentials.pull_secrets(bare, "carol")
    assert bare == {"spec": {}}


class Context:
    """The servicer context of a refused call: what typed_errors aborts with."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None
        self.trailers: tuple[tuple[str, str], ...] = ()

    def set_trailing_metadata(self, trailers: tuple[tuple[str, str], ...]) -> None:
        self.trailers = trailers

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        raise grpc.RpcError(details)


async def test_the_rpcs_answer_no_password_and_type_their_refusals(
    credentials: RegistryCredentials,
) -> None:
    api = WorkflowSubmitterApi(None, None, None, credentials)  # type: ignore[arg-type]
    context: Any = Context()
    created = await api.CreateRegistryCredential(request(), context)
    updated = await api.UpdateRegistryCredential(request(password="new"), context)
    listed = await api.ListRegistryCredentials(
        pb.ListRegistryCredentialsRequest(caller=ALICE), context
    )
    for answer in (created, updated, listed):
        assert PASSWORD not in answer.SerializeToString().decode(errors="replace")
        assert b"new" not in answer.SerializeToString()
    assert [c.name for c in listed.credentials] == ["ghcr"]
    for call, code in (
        (api.CreateRegistryCredential(request(), context), grpc.StatusCode.ALREADY_EXISTS),
        (api.CreateRegistryCredential(request(name="Bad"), context), grpc.StatusCode.INVALID_ARGUMENT),
        (
            api.DeleteRegistryCredential(pb.RegistryCredentialRef(caller=BOB, name="ghcr"), context),
            grpc.StatusCode.NOT_FOUND,
        ),
    ):  # fmt: skip
        with pytest.raises(grpc.RpcError):
            await call
        assert context.aborted[0] == code
    for name in ("b", "c"):
        await api.CreateRegistryCredential(request(name=name), context)
    with pytest.raises(grpc.RpcError):
        await api.CreateRegistryCredential(request(name="d"), context)
    assert context.aborted[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(context.trailers)["simpipe-reason"] == "quota-exceeded"
    deleted = await api.DeleteRegistryCredential(
        pb.RegistryCredentialRef(caller=ALICE, name="ghcr"), context
    )
    assert deleted.deleted


RUN = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: pull-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: ghcr.io/alice/private, command: ["true"]}}]
"""


def naming(secret: str, where: str) -> dict[str, Any]:
    """A run whose document names Secret `secret` in one of the ways a pod can use one."""
    document: dict[str, Any] = yaml.safe_load(RUN)
    spec, container = document["spec"], document["spec"]["templates"][0]["container"]
    if where == "imagePullSecrets":
        spec["imagePullSecrets"] = [{"name": secret}]
    elif where == "volume":
        spec["volumes"] = [{"name": "v", "secret": {"secretName": secret}}]
        container["volumeMounts"] = [{"name": "v", "mountPath": "/v"}]
    elif where == "env":
        ref = {"name": secret, "key": ".dockerconfigjson"}
        container["env"] = [{"name": "X", "valueFrom": {"secretKeyRef": ref}}]
    else:
        container["envFrom"] = [{"secretRef": {"name": secret}}]
    return document


@pytest.mark.parametrize("where", ["imagePullSecrets", "volume", "env", "envFrom"])
def test_no_document_names_a_credentials_secret_not_even_its_owners(where: str) -> None:
    """The service adds an owner's credentials to their runs; a document
    can name none, so no run reads (or pulls with) another user's login.
    Among the scopes: a project whose id makes its object prefix the
    credential's Secret name and a '.'."""
    policy = WorkflowPolicy(WorkflowPolicySettings())
    for owner in (ALICE, BOB):
        secret = secret_name(owner, "ghcr")
        closest = secret.removeprefix("simpipe-")
        for scope in (Scope(ALICE, "alpha"), Scope(ALICE, ""), Scope(ALICE, closest)):
            with pytest.raises(InvalidArgoDocumentError, match="Secrets"):
                policy.admit(naming(secret, where), WORKFLOW, scope)
    # The same document naming a Secret of the project is admitted.
    policy.admit(naming("simpipe-alpha.keys", where), WORKFLOW, Scope(ALICE, "alpha"))
