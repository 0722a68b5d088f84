from pydantic import Field

from .base_model import BaseModel


class PredictScaling(BaseModel):
    predict_scaling: "PredictScalingPredictScaling" = Field(alias="predictScaling")


class PredictScalingPredictScaling(BaseModel):
    cpu: float
    mem: float
    duration: float
    steps: list["PredictScalingPredictScalingSteps"]


class PredictScalingPredictScalingSteps(BaseModel):
    node_name: str = Field(alias="nodeName")
    cpu: float
    mem: float
    duration: float
