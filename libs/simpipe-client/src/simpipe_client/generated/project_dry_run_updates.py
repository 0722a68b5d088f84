from pydantic import Field

from .base_model import BaseModel
from .fragments import UpdateFields


class ProjectDryRunUpdates(BaseModel):
    project_dry_run_updates: "ProjectDryRunUpdatesProjectDryRunUpdates" = Field(
        alias="projectDryRunUpdates"
    )


ProjectDryRunUpdatesProjectDryRunUpdates = UpdateFields
