from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import SimulationPhase
from .fragments import ProgressFields


class SimulationProgress(BaseModel):
    simulation_progress: "SimulationProgressSimulationProgress" = Field(
        alias="simulationProgress"
    )


class SimulationProgressSimulationProgress(BaseModel):
    simulation_id: str = Field(alias="simulationId")
    project_id: Optional[str] = Field(alias="projectId")
    kind: str
    phase: SimulationPhase
    message: Optional[str]
    makespan_seconds: Optional[float] = Field(alias="makespanSeconds")
    occurred_at: Optional[str] = Field(alias="occurredAt")
    progress: Optional["SimulationProgressSimulationProgressProgress"]


SimulationProgressSimulationProgressProgress = ProgressFields
