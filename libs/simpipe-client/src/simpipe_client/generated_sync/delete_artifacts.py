from pydantic import Field

from .base_model import BaseModel


class DeleteArtifacts(BaseModel):
    delete_artifacts: bool = Field(alias="deleteArtifacts")
