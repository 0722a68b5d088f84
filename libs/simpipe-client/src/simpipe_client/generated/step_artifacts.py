from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel
from .fragments import ArtifactFields


class StepArtifacts(BaseModel):
    dry_run: "StepArtifactsDryRun" = Field(alias="dryRun")


class StepArtifactsDryRun(BaseModel):
    id: str
    node: Optional[
        Annotated[
            Union[
                "StepArtifactsDryRunNodeDryRunNode",
                "StepArtifactsDryRunNodeDryRunNodePod",
            ],
            Field(discriminator="typename__"),
        ]
    ]


class StepArtifactsDryRunNodeDryRunNode(BaseModel):
    typename__: Literal["DryRunNode", "DryRunNodeMisc"] = Field(alias="__typename")
    id: str


class StepArtifactsDryRunNodeDryRunNodePod(BaseModel):
    typename__: Literal["DryRunNodePod"] = Field(alias="__typename")
    id: str
    input_artifacts: list["StepArtifactsDryRunNodeDryRunNodePodInputArtifacts"] = Field(
        alias="inputArtifacts"
    )
    output_artifacts: list["StepArtifactsDryRunNodeDryRunNodePodOutputArtifacts"] = (
        Field(alias="outputArtifacts")
    )


StepArtifactsDryRunNodeDryRunNodePodInputArtifacts = ArtifactFields
StepArtifactsDryRunNodeDryRunNodePodOutputArtifacts = ArtifactFields
