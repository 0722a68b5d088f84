from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class RetryDryRun(BaseModel):
    retry_dry_run: "RetryDryRunRetryDryRun" = Field(alias="retryDryRun")


RetryDryRunRetryDryRun = DryRunSummary
