from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import DryRunNodePhase, DryRunNodeType
from .fragments import (  # noqa: F401
    DryRunSummary,
    DryRunSummaryProject,
    DryRunSummaryStatus,
)


class DryRun(BaseModel):
    dry_run: "DryRunDryRun" = Field(alias="dryRun")


class DryRunDryRun(DryRunSummary):
    nodes: Optional[
        list[
            Annotated[
                Union["DryRunDryRunNodesDryRunNode", "DryRunDryRunNodesDryRunNodePod"],
                Field(discriminator="typename__"),
            ]
        ]
    ]


class DryRunDryRunNodesDryRunNode(BaseModel):
    typename__: Literal["DryRunNode", "DryRunNodeMisc"] = Field(alias="__typename")
    id: str
    type_: DryRunNodeType = Field(alias="type")
    name: str
    display_name: Optional[str] = Field(alias="displayName")
    template_name: Optional[str] = Field(alias="templateName")
    phase: DryRunNodePhase
    started_at: Optional[str] = Field(alias="startedAt")
    finished_at: Optional[str] = Field(alias="finishedAt")
    duration: Optional[int]
    message: Optional[str]


class DryRunDryRunNodesDryRunNodePod(BaseModel):
    typename__: Literal["DryRunNodePod"] = Field(alias="__typename")
    id: str
    type_: DryRunNodeType = Field(alias="type")
    name: str
    display_name: Optional[str] = Field(alias="displayName")
    template_name: Optional[str] = Field(alias="templateName")
    phase: DryRunNodePhase
    started_at: Optional[str] = Field(alias="startedAt")
    finished_at: Optional[str] = Field(alias="finishedAt")
    duration: Optional[int]
    message: Optional[str]
    exit_code: Optional[str] = Field(alias="exitCode")
    pod_name: str = Field(alias="podName")
