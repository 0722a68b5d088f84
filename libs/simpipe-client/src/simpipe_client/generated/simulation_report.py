from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import SimulationPhase


class SimulationReport(BaseModel):
    simulation_report: Optional["SimulationReportSimulationReport"] = Field(
        alias="simulationReport"
    )


class SimulationReportSimulationReport(BaseModel):
    simulation_id: str = Field(alias="simulationId")
    phase: SimulationPhase
    makespan_seconds: float = Field(alias="makespanSeconds")
    orchestration_overhead_seconds: float = Field(alias="orchestrationOverheadSeconds")
    peak_pods_pending: int = Field(alias="peakPodsPending")
    energy_kwh: float = Field(alias="energyKwh")
    carbon_g_co_2: float = Field(alias="carbonGCo2")
    time_scale: float = Field(alias="timeScale")
    url: str
    parquet_url: str = Field(alias="parquetUrl")
    steps: list["SimulationReportSimulationReportSteps"]
    pools: list["SimulationReportSimulationReportPools"]
    unschedulable: list["SimulationReportSimulationReportUnschedulable"]


class SimulationReportSimulationReportSteps(BaseModel):
    copy_: int = Field(alias="copy")
    dry_run_id: str = Field(alias="dryRunId")
    node_id: str = Field(alias="nodeId")
    display_name: str = Field(alias="displayName")
    template_name: str = Field(alias="templateName")
    node_name: Optional[str] = Field(alias="nodeName")
    pool: Optional[str]
    queued_seconds: float = Field(alias="queuedSeconds")
    run_seconds: float = Field(alias="runSeconds")
    started_seconds: float = Field(alias="startedSeconds")
    finished_seconds: float = Field(alias="finishedSeconds")
    phase: str
    cpu_cores: float = Field(alias="cpuCores")
    memory_bytes: float = Field(alias="memoryBytes")


class SimulationReportSimulationReportPools(BaseModel):
    pool: str
    mean_cpu: float = Field(alias="meanCpu")
    peak_cpu: float = Field(alias="peakCpu")


class SimulationReportSimulationReportUnschedulable(BaseModel):
    dry_run_id: str = Field(alias="dryRunId")
    display_name: str = Field(alias="displayName")
    reason: str
