from pydantic import Field

from .base_model import BaseModel
from .fragments import TemplateFields


class CreateWorkflowTemplate(BaseModel):
    create_workflow_template: "CreateWorkflowTemplateCreateWorkflowTemplate" = Field(
        alias="createWorkflowTemplate"
    )


CreateWorkflowTemplateCreateWorkflowTemplate = TemplateFields
