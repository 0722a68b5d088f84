from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class SuspendDryRun(BaseModel):
    suspend_dry_run: "SuspendDryRunSuspendDryRun" = Field(alias="suspendDryRun")


SuspendDryRunSuspendDryRun = DryRunSummary
