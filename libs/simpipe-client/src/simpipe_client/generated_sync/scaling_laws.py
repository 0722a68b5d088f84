from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import LawFields


class ScalingLaws(BaseModel):
    compute_scaling_laws_from_nodes_metrics: list[
        Optional["ScalingLawsComputeScalingLawsFromNodesMetrics"]
    ] = Field(alias="computeScalingLawsFromNodesMetrics")


class ScalingLawsComputeScalingLawsFromNodesMetrics(BaseModel):
    node_name: str = Field(alias="nodeName")
    cpu: "ScalingLawsComputeScalingLawsFromNodesMetricsCpu"
    mem: "ScalingLawsComputeScalingLawsFromNodesMetricsMem"
    duration: "ScalingLawsComputeScalingLawsFromNodesMetricsDuration"


ScalingLawsComputeScalingLawsFromNodesMetricsCpu = LawFields
ScalingLawsComputeScalingLawsFromNodesMetricsMem = LawFields
ScalingLawsComputeScalingLawsFromNodesMetricsDuration = LawFields
