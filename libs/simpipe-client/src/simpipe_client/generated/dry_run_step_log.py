from pydantic import Field

from .base_model import BaseModel


class DryRunStepLog(BaseModel):
    dry_run_step_log: "DryRunStepLogDryRunStepLog" = Field(alias="dryRunStepLog")


class DryRunStepLogDryRunStepLog(BaseModel):
    lines: list[str]
