"""How SIM-PIPE marks the Kubernetes objects it creates (Workflows,
WorkflowTemplates, Projects): who owns them and which project they are in.

Owners are user names or OIDC subjects, which may hold characters a label
value cannot ('@', ':'), so the owner is kept verbatim in an annotation and
as a hash in a label that selectors can use.
"""

import hashlib
from typing import Any

LABEL_PROJECT = "simpipe.io/project"
LABEL_OWNER_HASH = "simpipe.io/owner-hash"
ANNOTATION_OWNER = "simpipe.io/owner"
# Present on every object SIM-PIPE manages; the watcher selects on it.
LABEL_MANAGED = "simpipe.io/managed"


def owner_hash(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


def owner_selector(owner: str, project_id: str | None = None) -> str:
    """A label selector of `owner`'s objects; with `project_id`, of those in
    that project only ("" selects those outside any project)."""
    selector = f"{LABEL_MANAGED}=true,{LABEL_OWNER_HASH}={owner_hash(owner)}"
    return selector if project_id is None else f"{selector},{LABEL_PROJECT}={project_id}"


def ownership_labels(owner: str, project_id: str) -> dict[str, str]:
    return {LABEL_MANAGED: "true", LABEL_OWNER_HASH: owner_hash(owner), LABEL_PROJECT: project_id}


def stamp(metadata: dict[str, Any], owner: str, project_id: str) -> None:
    """Mark an object's metadata as `owner`'s, in `project_id`, over whatever
    it claimed before."""
    metadata["labels"] = {**(metadata.get("labels") or {}), **ownership_labels(owner, project_id)}
    metadata["annotations"] = {**(metadata.get("annotations") or {}), ANNOTATION_OWNER: owner}


def owner_of(obj: dict[str, Any]) -> str:
    owner: str = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_OWNER, "")
    return owner


def project_of(obj: dict[str, Any]) -> str:
    project: str = ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_PROJECT, "")
    return project
