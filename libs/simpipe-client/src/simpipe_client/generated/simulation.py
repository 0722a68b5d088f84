from .base_model import BaseModel
from .fragments import SimulationFields


class Simulation(BaseModel):
    simulation: "SimulationSimulation"


SimulationSimulation = SimulationFields
