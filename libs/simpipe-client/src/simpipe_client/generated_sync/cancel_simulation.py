from pydantic import Field

from .base_model import BaseModel
from .fragments import SimulationFields


class CancelSimulation(BaseModel):
    cancel_simulation: "CancelSimulationCancelSimulation" = Field(
        alias="cancelSimulation"
    )


CancelSimulationCancelSimulation = SimulationFields
