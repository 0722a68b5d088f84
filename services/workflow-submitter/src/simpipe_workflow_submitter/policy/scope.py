"""Whose a document is, and the names it may use because of that.

A project's own Kubernetes objects (ConfigMaps, Secrets,
PersistentVolumeClaims) are named `simpipe-<project>.<name>`. A project id is
a DNS label, which has no '.', so the first '.' ends it and no project's
prefix begins another's (`simpipe-a-` would begin project `a-b`'s names too).
The service's own per-project objects (`simpipe-<project>-s3`, project_storage)
are not of this form, so no document names them. A dry run outside any
project names none.

Artifact keys a document writes out stay under the prefix the project's S3
credentials are scoped to: `<owner hash>/<project>/` of the artifact bucket,
`<owner hash>/_/` outside any project (the storage-broker's
project_credentials.artifact_prefix).
"""

from dataclasses import dataclass

from simpipe_common.ownership import owner_hash

# The storage-broker's prefix segment of an owner's runs outside any project.
NO_PROJECT_SEGMENT = "_"


@dataclass(frozen=True)
class Scope:
    owner: str
    # "" for a dry run outside any project.
    project: str

    @property
    def object_prefix(self) -> str | None:
        return f"simpipe-{self.project}." if self.project else None

    @property
    def artifact_key_prefix(self) -> str:
        return f"{owner_hash(self.owner)}/{self.project or NO_PROJECT_SEGMENT}/"
