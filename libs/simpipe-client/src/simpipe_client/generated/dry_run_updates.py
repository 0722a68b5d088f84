from pydantic import Field

from .base_model import BaseModel
from .fragments import UpdateFields


class DryRunUpdates(BaseModel):
    dry_run_updates: "DryRunUpdatesDryRunUpdates" = Field(alias="dryRunUpdates")


DryRunUpdatesDryRunUpdates = UpdateFields
