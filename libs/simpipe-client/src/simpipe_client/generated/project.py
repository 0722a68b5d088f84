from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary, ProjectFields


class Project(BaseModel):
    project: "ProjectProject"


class ProjectProject(ProjectFields):
    dry_runs: list["ProjectProjectDryRuns"] = Field(alias="dryRuns")
    workflow_templates: list["ProjectProjectWorkflowTemplates"] = Field(
        alias="workflowTemplates"
    )


ProjectProjectDryRuns = DryRunSummary


class ProjectProjectWorkflowTemplates(BaseModel):
    name: str
