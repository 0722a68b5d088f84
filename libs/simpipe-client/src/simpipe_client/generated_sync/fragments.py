from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import DryRunPhase, SimulationPhase


class ArtifactFields(BaseModel):
    name: str
    key: str
    url: Optional[str]
    size: Optional[float]
    bucket_name: str = Field(alias="bucketName")


class DryRunSummary(BaseModel):
    id: str
    created_at: str = Field(alias="createdAt")
    node_name: Optional[str] = Field(alias="nodeName")
    project: Optional["DryRunSummaryProject"]
    status: "DryRunSummaryStatus"


class DryRunSummaryProject(BaseModel):
    id: str


class DryRunSummaryStatus(BaseModel):
    phase: DryRunPhase
    started_at: Optional[str] = Field(alias="startedAt")
    finished_at: Optional[str] = Field(alias="finishedAt")
    progress: Optional[str]
    message: Optional[str]


class LawFields(BaseModel):
    coeffs: list[float]
    type_: str = Field(alias="type")
    r_2: float = Field(alias="r2")


class ProgressFields(BaseModel):
    simulated_seconds: float = Field(alias="simulatedSeconds")
    steps_done: int = Field(alias="stepsDone")
    steps_total: int = Field(alias="stepsTotal")
    pods_pending: int = Field(alias="podsPending")
    copies_done: int = Field(alias="copiesDone")


class ProjectFields(BaseModel):
    id: str
    name: str
    created_at: str = Field(alias="createdAt")


class RegistryCredentialFields(BaseModel):
    name: str
    username: str
    server: str


class SimulationFields(BaseModel):
    id: str
    project_id: str = Field(alias="projectId")
    phase: SimulationPhase
    message: Optional[str]
    dry_run_ids: list[str] = Field(alias="dryRunIds")
    created_at: Optional[str] = Field(alias="createdAt")
    finished_at: Optional[str] = Field(alias="finishedAt")
    progress: "SimulationFieldsProgress"


class SimulationFieldsProgress(ProgressFields):
    pass


class SummaryFields(BaseModel):
    duration_seconds: float = Field(alias="durationSeconds")
    cpu_seconds: float = Field(alias="cpuSeconds")
    max_cpu_cores: float = Field(alias="maxCpuCores")
    avg_cpu_cores: float = Field(alias="avgCpuCores")
    max_memory_bytes: float = Field(alias="maxMemoryBytes")
    avg_memory_bytes: float = Field(alias="avgMemoryBytes")
    network_receive_bytes: float = Field(alias="networkReceiveBytes")
    network_transmit_bytes: float = Field(alias="networkTransmitBytes")
    fs_read_bytes: float = Field(alias="fsReadBytes")
    fs_write_bytes: float = Field(alias="fsWriteBytes")
    energy_kwh: float = Field(alias="energyKwh")
    carbon_g_co_2: float = Field(alias="carbonGCo2")


class TemplateFields(BaseModel):
    name: str
    argo_workflow_template: Any = Field(alias="argoWorkflowTemplate")
    project: Optional["TemplateFieldsProject"]


class TemplateFieldsProject(BaseModel):
    id: str


class TokenFields(BaseModel):
    id: str
    name: str
    created_at: datetime = Field(alias="createdAt")
    expires_at: Optional[datetime] = Field(alias="expiresAt")


class UpdateFields(BaseModel):
    dry_run_id: str = Field(alias="dryRunId")
    project_id: Optional[str] = Field(alias="projectId")
    kind: str
    phase: str
    progress: Optional[str]
    message: Optional[str]
    node_id: Optional[str] = Field(alias="nodeId")
    display_name: Optional[str] = Field(alias="displayName")
    exit_code: Optional[str] = Field(alias="exitCode")
    occurred_at: Optional[str] = Field(alias="occurredAt")


class VirtualClusterFields(BaseModel):
    id: str
    created_at: Optional[str] = Field(alias="createdAt")
    pools: list["VirtualClusterFieldsPools"]


class VirtualClusterFieldsPools(BaseModel):
    name: str
    count: int
    cpu: str
    memory: str
    pods: int
    ready: int
