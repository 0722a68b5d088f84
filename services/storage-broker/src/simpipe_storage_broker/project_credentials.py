"""S3 credentials for the steps of a project, scoped to what is the
project's: its prefix of Argo's artifact bucket (read and write), and the
owner's input files (read). What makes them is the S3's own business
(CredentialIssuer): a MinIO service account here (minio_accounts); on AWS,
STS AssumeRole with this same policy as its session policy would fit."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_common.errors import FailedPreconditionError
from simpipe_common.ownership import owner_hash
from simpipe_common.validation import caller as valid_caller
from simpipe_common.validation import dns_label
from simpipe_storage_broker.ownership import Ownership

# The prefix segment of an owner's dry runs outside any project: never a
# project id (those are DNS labels).
NO_PROJECT = "_"
# Object actions of a step on its own files: Argo's executor puts outputs
# and logs (multipart for large ones), reads inputs, and deletes on garbage
# collection of artifacts.
_READ_WRITE = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
# Listing finds the files of a directory artifact (only below the scope's
# prefixes in the shared buckets). The location is what S3 clients
# (minio-go in Argo's executor) ask first; S3 takes no prefix condition on
# it, so it has a statement of its own. Of the owner's buckets it is left
# out (minio-go takes a refusal as the default region): a project's policy
# is bounded (MinIO: 4 KiB) and names each of them.
_LIST = ["s3:ListBucket"]
_LOCATION = ["s3:GetBucketLocation"]


@dataclass(frozen=True)
class ProjectScope:
    owner: str
    # "": the owner's dry runs outside any project.
    project_id: str

    @classmethod
    def of(cls, caller: str, project_id: str) -> "ProjectScope":
        if project_id:
            dns_label("project id", project_id)
        return cls(valid_caller(caller), project_id)

    @property
    def owner_hash(self) -> str:
        return owner_hash(self.owner)

    @property
    def name(self) -> str:
        """The scope's segment of the owner's prefix."""
        return self.project_id or NO_PROJECT


def _arn(bucket: str, path: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + ("" if path is None else f"/{path}")


def project_policy(
    *,
    artifact_bucket: str,
    artifact_prefix: str,
    upload_bucket: str,
    upload_prefix: str,
    readable_buckets: Sequence[str],
) -> dict[str, Any]:
    """The IAM policy (AWS's grammar, which MinIO takes) of a project's
    credentials: nothing but what is named here."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ProjectFiles",
            "Effect": "Allow",
            "Action": _READ_WRITE,
            "Resource": [_arn(artifact_bucket, f"{artifact_prefix}*")],
        },
        {
            "Sid": "InputFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [_arn(upload_bucket, f"{upload_prefix}*")]
            + [_arn(bucket, "*") for bucket in readable_buckets],
        },
        {
            "Sid": "ProjectListing",
            "Effect": "Allow",
            "Action": _LIST,
            "Resource": [_arn(artifact_bucket)],
            "Condition": {"StringLike": {"s3:prefix": [f"{artifact_prefix}*"]}},
        },
        {
            "Sid": "InputListing",
            "Effect": "Allow",
            "Action": _LIST,
            "Resource": [_arn(upload_bucket)],
            "Condition": {"StringLike": {"s3:prefix": [f"{upload_prefix}*"]}},
        },
        {
            "Sid": "Locations",
            "Effect": "Allow",
            "Action": _LOCATION,
            "Resource": [_arn(artifact_bucket), _arn(upload_bucket)],
        },
    ]
    if readable_buckets:
        statements.append(
            {
                "Sid": "OwnBuckets",
                "Effect": "Allow",
                "Action": _LIST,
                "Resource": [_arn(bucket) for bucket in readable_buckets],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class IssuedKey:
    access_key: str
    secret_key: str


class CredentialIssuer(Protocol):
    async def issue(self, scope: ProjectScope, policy: dict[str, Any]) -> IssuedKey:
        """Credentials of `scope` limited to `policy`; the same scope gets
        working credentials every time (made, or brought up to date)."""
        ...

    async def revoke(self, scope: ProjectScope) -> None:
        """The scope's credentials stop working; none there is fine."""
        ...


class NoCredentialIssuer:
    """For an S3 that has no issuer configured: steps cannot be given
    credentials, so dry runs are refused rather than given the root keys."""

    def _refuse(self) -> FailedPreconditionError:
        return FailedPreconditionError(
            "this S3 has no way configured to scope credentials to a project"
            " (SIMPIPE_PROJECT_CREDENTIALS)",
            reason="no-credential-issuer",
        )

    async def issue(self, scope: ProjectScope, policy: dict[str, Any]) -> IssuedKey:
        raise self._refuse()

    async def revoke(self, scope: ProjectScope) -> None:
        return None  # nothing was ever issued


@dataclass
class ProjectCredentials:
    ownership: Ownership
    issuer: CredentialIssuer

    def artifact_prefix(self, scope: ProjectScope) -> str:
        return f"{self.ownership.shared_prefix(scope.owner)}{scope.name}/"

    async def issue(self, caller: str, project_id: str) -> pb.ProjectCredentials:
        scope = ProjectScope.of(caller, project_id)
        readable = [name for name, _ in await self.ownership.owned_buckets(scope.owner)]
        owner_prefix = self.ownership.shared_prefix(scope.owner)
        artifact_prefix = self.artifact_prefix(scope)
        key = await self.issuer.issue(
            scope,
            project_policy(
                artifact_bucket=self.ownership.artifact_bucket,
                artifact_prefix=artifact_prefix,
                upload_bucket=self.ownership.upload_bucket,
                upload_prefix=owner_prefix,
                readable_buckets=readable,
            ),
        )
        return pb.ProjectCredentials(
            access_key=key.access_key,
            secret_key=key.secret_key,
            artifact_bucket=self.ownership.artifact_bucket,
            artifact_prefix=artifact_prefix,
            upload_bucket=self.ownership.upload_bucket,
            owner_prefix=owner_prefix,
            readable_buckets=readable,
        )

    async def revoke(self, caller: str, project_id: str) -> None:
        await self.issuer.revoke(ProjectScope.of(caller, project_id))
