from pydantic import Field

from .base_model import BaseModel


class DeleteSimulation(BaseModel):
    delete_simulation: bool = Field(alias="deleteSimulation")
