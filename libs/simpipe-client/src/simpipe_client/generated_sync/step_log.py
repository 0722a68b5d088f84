from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel


class StepLog(BaseModel):
    dry_run: "StepLogDryRun" = Field(alias="dryRun")


class StepLogDryRun(BaseModel):
    id: str
    node: Optional[
        Annotated[
            Union["StepLogDryRunNodeDryRunNode", "StepLogDryRunNodeDryRunNodePod"],
            Field(discriminator="typename__"),
        ]
    ]


class StepLogDryRunNodeDryRunNode(BaseModel):
    typename__: Literal["DryRunNode", "DryRunNodeMisc"] = Field(alias="__typename")
    id: str
    display_name: Optional[str] = Field(alias="displayName")


class StepLogDryRunNodeDryRunNodePod(BaseModel):
    typename__: Literal["DryRunNodePod"] = Field(alias="__typename")
    id: str
    display_name: Optional[str] = Field(alias="displayName")
    log: list[str]
