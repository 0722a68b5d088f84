from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class ResumeDryRun(BaseModel):
    resume_dry_run: "ResumeDryRunResumeDryRun" = Field(alias="resumeDryRun")


ResumeDryRunResumeDryRun = DryRunSummary
