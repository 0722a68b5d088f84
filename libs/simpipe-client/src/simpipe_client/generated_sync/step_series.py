from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel


class StepSeries(BaseModel):
    dry_run: "StepSeriesDryRun" = Field(alias="dryRun")


class StepSeriesDryRun(BaseModel):
    id: str
    node: Optional[
        Annotated[
            Union[
                "StepSeriesDryRunNodeDryRunNode", "StepSeriesDryRunNodeDryRunNodePod"
            ],
            Field(discriminator="typename__"),
        ]
    ]


class StepSeriesDryRunNodeDryRunNode(BaseModel):
    typename__: Literal["DryRunNode", "DryRunNodeMisc"] = Field(alias="__typename")
    id: str


class StepSeriesDryRunNodeDryRunNodePod(BaseModel):
    typename__: Literal["DryRunNodePod"] = Field(alias="__typename")
    id: str
    metrics: "StepSeriesDryRunNodeDryRunNodePodMetrics"


class StepSeriesDryRunNodeDryRunNodePodMetrics(BaseModel):
    series_table: Optional[Any] = Field(alias="seriesTable")
