from pydantic import Field

from .base_model import BaseModel


class DeleteDryRun(BaseModel):
    delete_dry_run: bool = Field(alias="deleteDryRun")
