from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class StopDryRun(BaseModel):
    stop_dry_run: "StopDryRunStopDryRun" = Field(alias="stopDryRun")


StopDryRunStopDryRun = DryRunSummary
