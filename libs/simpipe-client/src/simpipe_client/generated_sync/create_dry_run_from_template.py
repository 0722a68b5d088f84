from pydantic import Field

from .base_model import BaseModel
from .fragments import DryRunSummary


class CreateDryRunFromTemplate(BaseModel):
    create_dry_run_from_template: "CreateDryRunFromTemplateCreateDryRunFromTemplate" = (
        Field(alias="createDryRunFromTemplate")
    )


CreateDryRunFromTemplateCreateDryRunFromTemplate = DryRunSummary
