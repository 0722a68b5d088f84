"""Whether an Argo object (as a dict) belongs to a caller."""

from typing import Any

from simpipe_common.ownership import ANNOTATION_OWNER, LABEL_PROJECT


def owner_of(obj: dict[str, Any]) -> str:
    owner: str = (obj.get("metadata", {}).get("annotations") or {}).get(ANNOTATION_OWNER, "")
    return owner


def project_of(obj: dict[str, Any]) -> str:
    project: str = (obj.get("metadata", {}).get("labels") or {}).get(LABEL_PROJECT, "")
    return project
