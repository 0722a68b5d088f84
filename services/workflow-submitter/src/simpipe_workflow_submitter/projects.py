"""Projects, kept as Project objects (simpipe.io/v1alpha1) in the SIM-PIPE
namespace; a caller sees and changes only the projects they own."""

import secrets
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import dry_runs_pb2
from simpipe_common.errors import NotFoundError
from simpipe_common.ownership import owner_of, owner_selector, stamp
from simpipe_workflow_submitter import validation
from simpipe_workflow_submitter.kube import CustomObjects, call
from simpipe_workflow_submitter.project_storage import ProjectStorage

GROUP, VERSION, PLURAL = "simpipe.io", "v1alpha1", "projects"


def to_message(obj: dict[str, Any]) -> dry_runs_pb2.Project:
    meta = obj["metadata"]
    created = Timestamp()
    if meta.get("creationTimestamp"):
        created.FromJsonString(meta["creationTimestamp"])
    return dry_runs_pb2.Project(
        id=meta["name"],
        name=obj["spec"]["displayName"],
        owner=owner_of(obj),
        created_at=created,
    )


@dataclass
class ProjectStore:
    api: CustomObjects
    namespace: str
    # Each project's S3 access for its runs (credentials, artifact repository).
    storage: ProjectStorage = field(default_factory=ProjectStorage.from_environment)

    async def _get_owned(self, caller: str, project_id: str) -> dict[str, Any]:
        validation.dns_label("project id", project_id)
        obj: dict[str, Any] = await call(
            f"project {project_id}",
            self.api().get_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, project_id,
        )  # fmt: skip
        # Someone else's project is reported as missing: its existence is not ours to tell.
        if owner_of(obj) != caller:
            raise NotFoundError(f"project {project_id} not found")
        return obj

    async def get(self, caller: str, project_id: str) -> dry_runs_pb2.Project:
        return to_message(await self._get_owned(caller, project_id))

    async def create(self, caller: str, name: str, project_id: str) -> dry_runs_pb2.Project:
        name = validation.display_name(name)
        if project_id:
            validation.dns_label("project id", project_id)
        else:
            project_id = f"{validation.slug(name)}-{secrets.token_hex(3)}"
        metadata: dict[str, Any] = {"name": project_id}
        stamp(metadata, caller, project_id)
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Project",
            "metadata": metadata,
            "spec": {"displayName": name},
        }
        created: dict[str, Any] = await call(
            f"project {project_id}",
            self.api().create_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, body,
        )  # fmt: skip
        return to_message(created)

    async def rename(self, caller: str, project_id: str, name: str) -> dry_runs_pb2.Project:
        name = validation.display_name(name)
        await self._get_owned(caller, project_id)
        patched: dict[str, Any] = await call(
            f"project {project_id}",
            self.api().patch_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, project_id, {"spec": {"displayName": name}},
        )  # fmt: skip
        return to_message(patched)

    async def list(self, caller: str) -> list[dry_runs_pb2.Project]:
        found: dict[str, Any] = await call(
            "projects",
            self.api().list_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, label_selector=owner_selector(caller),
        )  # fmt: skip
        projects = [to_message(o) for o in found.get("items", [])]
        return sorted((p for p in projects if p.owner == caller), key=lambda p: p.id)

    async def delete(self, caller: str, project_id: str) -> None:
        await self._get_owned(caller, project_id)
        # The project's dry runs and pipelines go with it.
        selector = owner_selector(caller, project_id)
        kinds = [("workflowtemplates", self.namespace)]
        kinds += [("workflows", namespace) for namespace in self.storage.namespaces]
        for plural, namespace in kinds:
            await call(
                f"{plural} of project {project_id}",
                self.api().delete_collection_namespaced_custom_object,
                "argoproj.io", "v1alpha1", namespace, plural, label_selector=selector,
            )  # fmt: skip
        await self.storage.forget(caller, project_id)
        await call(
            f"project {project_id}",
            self.api().delete_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, project_id,
        )  # fmt: skip
