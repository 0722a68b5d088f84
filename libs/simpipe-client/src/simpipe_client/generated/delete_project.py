from pydantic import Field

from .base_model import BaseModel


class DeleteProject(BaseModel):
    delete_project: bool = Field(alias="deleteProject")
