from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Placement, Sandbox, TaintEffect


class CompletedPartInput(BaseModel):
    part_number: int = Field(alias="partNumber")
    etag: str
    "The ETag header S3 answered the part's PUT with."


class CreateDryRunFromTemplateInput(BaseModel):
    """A dry run from one of the project's workflow templates."""

    workflow_template_name: str = Field(alias="workflowTemplateName")
    project_id: Optional[str] = Field(alias="projectId", default=None)
    dry_run_id: Optional[str] = Field(alias="dryRunId", default=None)
    parameters: Optional[list["ParameterInput"]] = None
    input_artifacts: Optional[list["InputArtifactInput"]] = Field(
        alias="inputArtifacts", default=None
    )
    placement: Optional[Placement] = None
    "Real nodes (the default) or KWOK's virtual nodes."
    sandbox: Optional[Sandbox] = None
    "The node's runtime (the default), or gVisor (real nodes only)."
    node_name: Optional[str] = Field(alias="nodeName", default=None)
    'One node of the placement\'s kind, by name ("default", as the original GUI sends it: any).'
    virtual_cluster: Optional[str] = Field(alias="virtualCluster", default=None)
    "VIRTUAL_NODES only: one of the caller's virtual clusters (without it: the stack's shared virtual nodes)."
    pool: Optional[str] = None
    "With virtualCluster: one pool of it."


class CreateDryRunInput(BaseModel):
    argo_workflow: Any = Field(alias="argoWorkflow")
    project_id: Optional[str] = Field(alias="projectId", default=None)
    dry_run_id: Optional[str] = Field(alias="dryRunId", default=None)
    input_artifacts: Optional[list["InputArtifactInput"]] = Field(
        alias="inputArtifacts", default=None
    )
    placement: Optional[Placement] = None
    "Real nodes (the default) or KWOK's virtual nodes."
    sandbox: Optional[Sandbox] = None
    "The node's runtime (the default), or gVisor (real nodes only)."
    node_name: Optional[str] = Field(alias="nodeName", default=None)
    'One node of the placement\'s kind, by name ("default", as the original GUI sends it: any).'
    virtual_cluster: Optional[str] = Field(alias="virtualCluster", default=None)
    "VIRTUAL_NODES only: one of the caller's virtual clusters (without it: the stack's shared virtual nodes)."
    pool: Optional[str] = None
    "With virtualCluster: one pool of it."


class CreateVirtualClusterInput(BaseModel):
    pools: list["NodePoolInput"]
    id: Optional[str] = None
    "A DNS-1123 label; made up when not given."


class CreateWorkflowTemplateInput(BaseModel):
    argo_workflow_template: Any = Field(alias="argoWorkflowTemplate")
    name: Optional[str] = None
    project_id: Optional[str] = Field(alias="projectId", default=None)


class DockerRegistryCredentialInput(BaseModel):
    """A registry login to store; its password is never answered."""

    name: str
    "Lower-case letters, digits, '-' and '.' (a DNS-1123 subdomain), at most 63 characters; an update names the credential it replaces."
    username: str
    "Printable, without ':'."
    password: str
    "Or an access token; printable, stored only."
    server: str
    'e.g. "ghcr.io", "registry.example.org:5000", "https://index.docker.io/v1/".'


class InputArtifactInput(BaseModel):
    """An input file of the dry run, by reference: the step reads it from S3."""

    name: str
    "The entrypoint's input artifact it becomes."
    bucket_name: str = Field(alias="bucketName")
    key: str


class LabelInput(BaseModel):
    key: str
    value: str


class NodePoolInput(BaseModel):
    """A pool of identical KWOK nodes."""

    name: str
    "A DNS-1123 label, unique in its cluster."
    count: int
    "Nodes: 0 to the scaler's limit."
    cpu: str
    'Each node\'s allocatable CPU, e.g. "4" or "500m".'
    memory: str
    'Each node\'s allocatable memory, e.g. "16Gi".'
    pods: int = 110
    "Pods per node."
    labels: Optional[list["LabelInput"]] = None
    "Extra node labels (simpipe.io/* is the scaler's)."
    taints: Optional[list["TaintInput"]] = None


class ParameterInput(BaseModel):
    name: str
    value: str


class ScalingLawInput(BaseModel):
    """A scaling law per step, fitted from dry runs at several input sizes."""

    dry_run_ids: list[str] = Field(alias="dryRunIds")
    input_size_bytes: float = Field(alias="inputSizeBytes")
    "Where the laws are evaluated."
    regression_method: Optional[str] = Field(alias="regressionMethod", default=None)
    "linear (the default), power or logarithmic."


class StartSimulationInput(BaseModel):
    project_id: str = Field(alias="projectId")
    workflow_template_name: str = Field(alias="workflowTemplateName")
    virtual_cluster_id: str = Field(alias="virtualClusterId")
    timing: "TimingInput"
    simulation_id: Optional[str] = Field(alias="simulationId", default=None)
    "A DNS-1123 label; made up when not given."
    parameters: Optional[list["ParameterInput"]] = None
    pool: Optional[str] = None
    "One pool of the cluster."
    copies: Optional[int] = None
    "Runs of the pipeline (1)."
    spacing_seconds: Optional[float] = Field(alias="spacingSeconds", default=None)
    "Simulated seconds between the copies' starts (0)."
    time_scale: Optional[float] = Field(alias="timeScale", default=None)
    "Simulated seconds per wall-clock second (1), within the scaler's limit."


class StepFiguresInput(BaseModel):
    """What a step takes, in simulated seconds and real units."""

    step: str
    "The step's template name."
    seconds: float
    cpu_cores: float = Field(alias="cpuCores", default=0)
    memory_bytes: float = Field(alias="memoryBytes", default=0)
    network_receive_bytes_per_second: float = Field(
        alias="networkReceiveBytesPerSecond", default=0
    )
    network_transmit_bytes_per_second: float = Field(
        alias="networkTransmitBytesPerSecond", default=0
    )
    fs_read_bytes_per_second: float = Field(alias="fsReadBytesPerSecond", default=0)
    fs_write_bytes_per_second: float = Field(alias="fsWriteBytesPerSecond", default=0)
    output_parameters: Optional[list["ParameterInput"]] = Field(
        alias="outputParameters", default=None
    )
    "So `when` and loops go as given; the template's defaults otherwise."
    exit_code: int = Field(alias="exitCode", default=0)
    "Non-zero fails the step."


class TaintInput(BaseModel):
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NoSchedule


class TimingInput(BaseModel):
    """Where each step's duration and usage come from: exactly one source."""

    reference_dry_run_id: Optional[str] = Field(alias="referenceDryRunId", default=None)
    "A dry run that really ran: its measured per-step figures."
    scaling: Optional["ScalingLawInput"] = None
    explicit: Optional[list["StepFiguresInput"]] = None
    duration_factor: Optional[float] = Field(alias="durationFactor", default=None)
    "Multiplies every step's duration (e.g. 4 for 4x the data)."


class UpdateWorkflowTemplateInput(BaseModel):
    name: str
    argo_workflow_template: Any = Field(alias="argoWorkflowTemplate")
    project_id: Optional[str] = Field(alias="projectId", default=None)
