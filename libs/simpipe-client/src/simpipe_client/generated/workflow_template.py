from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import TemplateFields


class WorkflowTemplate(BaseModel):
    workflow_template: Optional["WorkflowTemplateWorkflowTemplate"] = Field(
        alias="workflowTemplate"
    )


WorkflowTemplateWorkflowTemplate = TemplateFields
