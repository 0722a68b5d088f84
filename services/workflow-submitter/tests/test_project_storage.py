"""A dry run pointed at its project's storage: the Secret and artifact
repository ConfigMap written in the workflows' namespace (a stand-in for
the Kubernetes API that answers as it does), the run's artifactRepositoryRef
and its input files read with the project's Secret."""

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe.v1 import workflow_submitter_pb2
from simpipe_common.errors import NotFoundError
from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_OWNER_HASH, LABEL_PROJECT, owner_hash
from simpipe_workflow_submitter import documents
from simpipe_workflow_submitter.project_storage import (
    KEY_FORMAT,
    ProjectStorage,
    repository_name,
    secret_name,
)

ALICE = "alice@example.org"
A = owner_hash(ALICE)
NAMESPACE = "simpipe"
ROOT = documents.ArtifactRepository("10.0.0.1:9000", True, "argo-s3")


class FakeCredentials:
    def __init__(self) -> None:
        self.issued: list[tuple[str, str]] = []
        self.revoked: list[tuple[str, str]] = []

    async def issue(self, owner: str, project_id: str) -> pb.ProjectCredentials:
        self.issued.append((owner, project_id))
        scope = project_id or "_"
        return pb.ProjectCredentials(
            access_key=f"ak-{scope}",
            secret_key=f"sk-{scope}",
            artifact_bucket="argo-artifacts",
            artifact_prefix=f"{owner_hash(owner)}/{scope}/",
            upload_bucket="simpipe-uploads",
            owner_prefix=f"{owner_hash(owner)}/",
            readable_buckets=["alice-data"],
        )

    async def revoke(self, owner: str, project_id: str) -> None:
        self.revoked.append((owner, project_id))


class FakeCore:
    """Secrets and ConfigMaps of one namespace, as the API keeps them (a
    Secret's stringData becomes base64 data)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []

    def _read(self, kind: str, name: str, namespace: str) -> SimpleNamespace:
        assert namespace == NAMESPACE
        found = self.objects.get((kind, name))
        if found is None:
            raise ApiException(status=404, reason="Not Found")
        return SimpleNamespace(
            data=found.get("data"),
            metadata=SimpleNamespace(labels=found["metadata"].get("labels")),
        )

    def _write(self, verb: str, kind: str, namespace: str, body: dict[str, Any]) -> None:
        assert namespace == NAMESPACE
        name = body["metadata"]["name"]
        if verb == "create" and (kind, name) in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        self.writes.append((verb, kind))
        self.objects[(kind, name)] = json.loads(json.dumps(body))

    def _delete(self, kind: str, name: str, namespace: str) -> None:
        if self.objects.pop((kind, name), None) is None:
            raise ApiException(status=404, reason="Not Found")

    def read_namespaced_secret(self, name: str, namespace: str) -> SimpleNamespace:
        return self._read("Secret", name, namespace)

    def create_namespaced_secret(self, namespace: str, body: dict[str, Any]) -> None:
        self._write("create", "Secret", namespace, body)

    def replace_namespaced_secret(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        self._write("replace", "Secret", namespace, body)

    def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        self._delete("Secret", name, namespace)

    def read_namespaced_config_map(self, name: str, namespace: str) -> SimpleNamespace:
        return self._read("ConfigMap", name, namespace)

    def create_namespaced_config_map(self, namespace: str, body: dict[str, Any]) -> None:
        self._write("create", "ConfigMap", namespace, body)

    def replace_namespaced_config_map(
        self, name: str, namespace: str, body: dict[str, Any]
    ) -> None:
        self._write("replace", "ConfigMap", namespace, body)

    def delete_namespaced_config_map(self, name: str, namespace: str) -> None:
        self._delete("ConfigMap", name, namespace)


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def credentials() -> FakeCredentials:
    return FakeCredentials()


@pytest.fixture
def storage(core: FakeCore, credentials: FakeCredentials) -> ProjectStorage:
    return ProjectStorage(credentials, lambda: core, (NAMESPACE,), "10.0.0.1:9000", True)  # type: ignore[arg-type,return-value]


def dry_run(*inputs: tuple[str, str, str]) -> dict[str, Any]:
    """A Workflow with input files as the submitter makes them (documents)."""
    document: dict[str, Any] = {"metadata": {}, "spec": {"entrypoint": "main"}}
    documents.set_input_artifacts(
        document,
        [workflow_submitter_pb2.InputArtifact(name=n, bucket=b, key=k) for n, b, k in inputs],
        ROOT,
    )
    return document


async def test_a_run_gets_its_projects_repository_and_reads_inputs_with_its_secret(
    storage: ProjectStorage, core: FakeCore, credentials: FakeCredentials
) -> None:
    document = dry_run(
        ("upload", "simpipe-uploads", "in/a.csv"),
        ("own", "alice-data", "b.csv"),
        ("earlier", "argo-artifacts", "proj/run-0/run-0-1/out.tgz"),
    )
    await storage.attach(document, ALICE, "proj", NAMESPACE)
    assert credentials.issued == [(ALICE, "proj")]

    spec = document["spec"]
    assert spec["artifactRepositoryRef"] == {
        "configMap": "simpipe-proj-artifacts",
        "key": "repository",
    }
    project_secret = {"name": "simpipe-proj-s3", "key": "accesskey"}
    inputs = {a["name"]: a["s3"] for a in spec["arguments"]["artifacts"]}
    assert {n: (s["bucket"], s["key"]) for n, s in inputs.items()} == {
        "upload": ("simpipe-uploads", f"{A}/in/a.csv"),
        "own": ("alice-data", "b.csv"),
        "earlier": ("argo-artifacts", f"{A}/proj/run-0/run-0-1/out.tgz"),
    }
    for s3 in inputs.values():
        assert s3["accessKeySecret"] == project_secret
        assert s3["secretKeySecret"] == {"name": "simpipe-proj-s3", "key": "secretkey"}
        assert (s3["endpoint"], s3["insecure"]) == ("10.0.0.1:9000", True)
    assert "argo-s3" not in json.dumps(document)

    secret = core.objects[("Secret", "simpipe-proj-s3")]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "accesskey": "ak-proj",
        "secretkey": "sk-proj",
    }
    labels = secret["metadata"]["labels"]
    assert (labels[LABEL_OWNER_HASH], labels[LABEL_PROJECT]) == (A, "proj")
    assert secret["metadata"]["annotations"][ANNOTATION_OWNER] == ALICE
    config_map = core.objects[("ConfigMap", "simpipe-proj-artifacts")]
    assert json.loads(config_map["data"]["repository"]) == {
        "archiveLogs": True,
        "s3": {
            "bucket": "argo-artifacts",
            "endpoint": "10.0.0.1:9000",
            "insecure": True,
            "keyFormat": f"{A}/proj/{KEY_FORMAT}",
            "accessKeySecret": project_secret,
            "secretKeySecret": {"name": "simpipe-proj-s3", "key": "secretkey"},
        },
    }
    assert config_map["metadata"]["labels"][LABEL_PROJECT] == "proj"


async def test_a_repeated_run_reads_and_writes_nothing_new(
    storage: ProjectStorage, core: FakeCore
) -> None:
    await storage.attach(dry_run(), ALICE, "proj", NAMESPACE)
    await storage.attach(dry_run(), ALICE, "proj", NAMESPACE)
    assert core.writes == [("create", "Secret"), ("create", "ConfigMap")]
    # Changed keys (a rotated root secret) are written over.
    core.objects[("Secret", "simpipe-proj-s3")]["data"]["secretkey"] = "b2xk"
    await storage.attach(dry_run(), ALICE, "proj", NAMESPACE)
    assert core.writes[-1] == ("replace", "Secret")


async def test_a_run_outside_any_project_has_its_owners_own_scope(
    storage: ProjectStorage, core: FakeCore
) -> None:
    document = dry_run()
    await storage.attach(document, ALICE, "", NAMESPACE)
    assert secret_name(ALICE, "") == f"simpipe--{A}-s3"
    assert document["spec"]["artifactRepositoryRef"]["configMap"] == f"simpipe--{A}-artifacts"
    assert set(core.objects) == {("Secret", secret_name(ALICE, "")),
                                 ("ConfigMap", repository_name(ALICE, ""))}  # fmt: skip
    assert secret_name("bob", "") != secret_name(ALICE, "")


async def test_an_input_in_a_bucket_not_the_owners_is_not_found_and_nothing_written(
    storage: ProjectStorage, core: FakeCore
) -> None:
    document = dry_run(("theirs", "bob-data", "b.csv"))
    with pytest.raises(NotFoundError, match="bob-data"):
        await storage.attach(document, ALICE, "proj", NAMESPACE)
    assert core.objects == {}


async def test_a_user_set_repository_is_replaced_by_the_projects(
    storage: ProjectStorage,
) -> None:
    document = dry_run()
    document["spec"]["artifactRepositoryRef"] = {"configMap": "someone-elses", "key": "x"}
    await storage.attach(document, ALICE, "proj", NAMESPACE)
    assert document["spec"]["artifactRepositoryRef"]["configMap"] == "simpipe-proj-artifacts"


async def test_forgetting_a_project_revokes_and_deletes_what_it_had(
    storage: ProjectStorage, core: FakeCore, credentials: FakeCredentials
) -> None:
    await storage.attach(dry_run(), ALICE, "proj", NAMESPACE)
    await storage.forget(ALICE, "proj")
    assert credentials.revoked == [(ALICE, "proj")]
    assert core.objects == {}
    await storage.forget(ALICE, "never-ran")  # nothing there: fine
    assert credentials.revoked[-1] == (ALICE, "never-ran")
