"""A project's credentials: the policy they carry (checked as the JSON S3
gets), and what the broker answers the workflow-submitter, on moto's S3
with a recording issuer."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from simpipe_common.errors import InvalidInputError
from simpipe_common.ownership import owner_hash
from simpipe_common.s3 import s3_client
from simpipe_common.testing import moto_s3
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_storage_broker.ownership import Ownership
from simpipe_storage_broker.project_credentials import (
    IssuedKey,
    ProjectCredentials,
    ProjectScope,
    project_policy,
)

# moto's S3 is one per process: owners of their own, apart from other tests'.
ALICE, BOB = f"alice-{uuid.uuid4().hex[:8]}@example.org", f"bob-{uuid.uuid4().hex[:8]}"
A = owner_hash(ALICE)


def test_the_policy_names_the_project_prefix_and_the_owners_inputs_only() -> None:
    policy = project_policy(
        artifact_bucket="argo-artifacts",
        artifact_prefix=f"{A}/proj/",
        upload_bucket="simpipe-uploads",
        upload_prefix=f"{A}/",
        readable_buckets=["alice-data"],
    )
    # What S3 is sent: plain JSON, AWS's grammar.
    assert json.loads(json.dumps(policy)) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProjectFiles",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"arn:aws:s3:::argo-artifacts/{A}/proj/*"],
            },
            {
                "Sid": "InputFiles",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::simpipe-uploads/{A}/*", "arn:aws:s3:::alice-data/*"],
            },
            {
                "Sid": "ProjectListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::argo-artifacts"],
                "Condition": {"StringLike": {"s3:prefix": [f"{A}/proj/*"]}},
            },
            {
                "Sid": "InputListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::simpipe-uploads"],
                "Condition": {"StringLike": {"s3:prefix": [f"{A}/*"]}},
            },
            {
                "Sid": "Locations",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": ["arn:aws:s3:::argo-artifacts", "arn:aws:s3:::simpipe-uploads"],
            },
            {
                "Sid": "OwnBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::alice-data"],
            },
        ],
    }


def test_without_buckets_of_their_own_only_the_shared_parts_are_named() -> None:
    policy = project_policy(
        artifact_bucket="a-b", artifact_prefix="h/p/", upload_bucket="u-b",
        upload_prefix="h/", readable_buckets=[],
    )  # fmt: skip
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert resources == ["arn:aws:s3:::a-b/h/p/*", "arn:aws:s3:::u-b/h/*", "arn:aws:s3:::a-b",
                         "arn:aws:s3:::u-b", "arn:aws:s3:::a-b", "arn:aws:s3:::u-b"]  # fmt: skip
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert not any("*" in a for s in policy["Statement"] for a in s["Action"])


@pytest.mark.parametrize("project", ["Upper", "-dash", "_", "a/b", "x" * 64])
def test_project_ids_are_dns_labels(project: str) -> None:
    with pytest.raises(InvalidInputError):
        ProjectScope.of(ALICE, project)


def test_runs_outside_a_project_have_a_scope_no_project_can_have() -> None:
    assert ProjectScope.of(ALICE, "").name == "_"
    assert ProjectScope.of(ALICE, "p").name == "p"
    with pytest.raises(InvalidInputError):
        ProjectScope.of("", "p")


class RecordingIssuer:
    def __init__(self) -> None:
        self.issued: list[tuple[ProjectScope, dict[str, Any]]] = []
        self.revoked: list[ProjectScope] = []

    async def issue(self, scope: ProjectScope, policy: dict[str, Any]) -> IssuedKey:
        self.issued.append((scope, policy))
        return IssuedKey(f"ak-{scope.name}", "sk")

    async def revoke(self, scope: ProjectScope) -> None:
        self.revoked.append(scope)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
async def ownership(moto_endpoint: str) -> AsyncIterator[Ownership]:
    settings = StorageBrokerSettings(
        s3_endpoint=moto_endpoint, s3_access_key="key", s3_secret_key=SecretStr("secret")
    )
    async with s3_client(settings, 5) as s3:
        yield Ownership(s3, "simpipe-uploads", "argo-artifacts", settings.reserved_buckets)


async def test_issued_credentials_read_the_owners_buckets_and_name_the_prefixes(
    ownership: Ownership,
) -> None:
    alices, bobs = (f"{who}-in-{uuid.uuid4().hex[:8]}" for who in ("alice", "bob"))
    for owner, bucket in ((ALICE, alices), (BOB, bobs)):
        await ownership.s3.create_bucket(Bucket=bucket)
        await ownership.claim(owner, bucket)
    await ownership.s3.create_bucket(Bucket=f"nobodys-{uuid.uuid4().hex[:8]}")
    issuer = RecordingIssuer()
    credentials = ProjectCredentials(ownership, issuer)

    answer = await credentials.issue(ALICE, "proj")
    assert (answer.access_key, answer.secret_key) == ("ak-proj", "sk")
    assert (answer.artifact_bucket, answer.artifact_prefix) == ("argo-artifacts", f"{A}/proj/")
    assert (answer.upload_bucket, answer.owner_prefix) == ("simpipe-uploads", f"{A}/")
    assert list(answer.readable_buckets) == [alices]
    ((scope, policy),) = issuer.issued
    assert (scope.owner, scope.project_id) == (ALICE, "proj")
    assert policy == project_policy(
        artifact_bucket="argo-artifacts", artifact_prefix=f"{A}/proj/",
        upload_bucket="simpipe-uploads", upload_prefix=f"{A}/", readable_buckets=[alices],
    )  # fmt: skip

    outside = await credentials.issue(ALICE, "")
    assert outside.artifact_prefix == f"{A}/_/"
    await credentials.revoke(ALICE, "proj")
    assert [(s.owner, s.project_id) for s in issuer.revoked] == [(ALICE, "proj")]


async def test_storage_and_credentials_agree_on_the_owners_part(ownership: Ownership) -> None:
    """The files a project's steps write are the ones the owner then reads
    through the broker: the same prefix of the artifact bucket."""
    credentials = ProjectCredentials(ownership, RecordingIssuer())
    issued = await credentials.issue(ALICE, "proj")
    place = await ownership.place(ALICE, "argo-artifacts", write=False)
    assert issued.artifact_prefix.startswith(place.prefix)
    assert place.view(f"{issued.artifact_prefix}run/pod/main.log") == "proj/run/pod/main.log"
