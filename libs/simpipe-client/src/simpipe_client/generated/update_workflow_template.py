from pydantic import Field

from .base_model import BaseModel
from .fragments import TemplateFields


class UpdateWorkflowTemplate(BaseModel):
    update_workflow_template: "UpdateWorkflowTemplateUpdateWorkflowTemplate" = Field(
        alias="updateWorkflowTemplate"
    )


UpdateWorkflowTemplateUpdateWorkflowTemplate = TemplateFields
