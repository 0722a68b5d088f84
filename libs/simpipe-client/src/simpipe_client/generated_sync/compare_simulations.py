from pydantic import Field

from .base_model import BaseModel


class CompareSimulations(BaseModel):
    compare_simulations: "CompareSimulationsCompareSimulations" = Field(
        alias="compareSimulations"
    )


class CompareSimulationsCompareSimulations(BaseModel):
    a: str
    b: str
    makespan_seconds_a: float = Field(alias="makespanSecondsA")
    makespan_seconds_b: float = Field(alias="makespanSecondsB")
    energy_kwh_a: float = Field(alias="energyKwhA")
    energy_kwh_b: float = Field(alias="energyKwhB")
    steps: list["CompareSimulationsCompareSimulationsSteps"]


class CompareSimulationsCompareSimulationsSteps(BaseModel):
    step: str
    run_seconds_a: float = Field(alias="runSecondsA")
    run_seconds_b: float = Field(alias="runSecondsB")
    queued_seconds_a: float = Field(alias="queuedSecondsA")
    queued_seconds_b: float = Field(alias="queuedSecondsB")
