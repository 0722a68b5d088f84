from pydantic import Field

from .base_model import BaseModel
from .fragments import SimulationFields


class StartSimulation(BaseModel):
    start_simulation: "StartSimulationStartSimulation" = Field(alias="startSimulation")


StartSimulationStartSimulation = SimulationFields
