from pydantic import Field

from .base_model import BaseModel
from .fragments import ProjectFields


class RenameProject(BaseModel):
    rename_project: "RenameProjectRenameProject" = Field(alias="renameProject")


RenameProjectRenameProject = ProjectFields
