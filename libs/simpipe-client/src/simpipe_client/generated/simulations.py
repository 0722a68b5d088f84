from .base_model import BaseModel
from .fragments import SimulationFields


class Simulations(BaseModel):
    simulations: list["SimulationsSimulations"]


SimulationsSimulations = SimulationFields
