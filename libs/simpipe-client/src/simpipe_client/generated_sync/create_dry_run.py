from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class CreateDryRun(BaseModel):
    create_dry_run: "CreateDryRunCreateDryRun" = Field(alias="createDryRun")


CreateDryRunCreateDryRun = DryRunSummary
