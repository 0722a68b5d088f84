from pydantic import Field

from .base_model import BaseModel


class DeleteWorkflowTemplate(BaseModel):
    delete_workflow_template: bool = Field(alias="deleteWorkflowTemplate")
