from .abort_multipart_upload import AbortMultipartUpload
from .access_tokens import AccessTokens, AccessTokensAccessTokens
from .artifact_metadata import ArtifactMetadata, ArtifactMetadataArtifact
from .artifacts import Artifacts, ArtifactsArtifacts
from .async_base_client import AsyncBaseClient
from .base_model import BaseModel, Upload
from .buckets import Buckets, BucketsBuckets
from .cancel_simulation import CancelSimulation, CancelSimulationCancelSimulation
from .client import GeneratedAsyncClient
from .compare_simulations import (
    CompareSimulations,
    CompareSimulationsCompareSimulations,
    CompareSimulationsCompareSimulationsSteps,
)
from .complete_multipart_upload import (
    CompleteMultipartUpload,
    CompleteMultipartUploadCompleteMultipartUpload,
)
from .create_access_token import (
    CreateAccessToken,
    CreateAccessTokenCreateAccessToken,
    CreateAccessTokenCreateAccessTokenAccessToken,
)
from .create_dry_run import CreateDryRun, CreateDryRunCreateDryRun
from .create_dry_run_from_template import (
    CreateDryRunFromTemplate,
    CreateDryRunFromTemplateCreateDryRunFromTemplate,
)
from .create_multipart_upload import (
    CreateMultipartUpload,
    CreateMultipartUploadCreateMultipartUpload,
)
from .create_project import CreateProject, CreateProjectCreateProject
from .create_registry_credential import (
    CreateRegistryCredential,
    CreateRegistryCredentialCreateDockerRegistryCredential,
)
from .create_virtual_cluster import (
    CreateVirtualCluster,
    CreateVirtualClusterCreateVirtualCluster,
)
from .create_workflow_template import (
    CreateWorkflowTemplate,
    CreateWorkflowTemplateCreateWorkflowTemplate,
)
from .delete_artifacts import DeleteArtifacts
from .delete_dry_run import DeleteDryRun
from .delete_project import DeleteProject
from .delete_registry_credential import DeleteRegistryCredential
from .delete_simulation import DeleteSimulation
from .delete_virtual_cluster import DeleteVirtualCluster
from .delete_workflow_template import DeleteWorkflowTemplate
from .dry_run import (
    DryRun,
    DryRunDryRun,
    DryRunDryRunNodesDryRunNode,
    DryRunDryRunNodesDryRunNodePod,
)
from .dry_run_report import (
    DryRunReport,
    DryRunReportDryRun,
    DryRunReportDryRunMetricsSummary,
    DryRunReportDryRunMetricsSummaryRun,
    DryRunReportDryRunMetricsSummarySteps,
    DryRunReportDryRunMetricsSummaryStepsSummary,
    DryRunReportDryRunReport,
)
from .dry_run_step_log import DryRunStepLog, DryRunStepLogDryRunStepLog
from .dry_run_updates import DryRunUpdates, DryRunUpdatesDryRunUpdates
from .enums import (
    DryRunNodePhase,
    DryRunNodeType,
    DryRunPhase,
    Placement,
    Sandbox,
    SimulationPhase,
    TaintEffect,
)
from .exceptions import (
    GraphQLClientError,
    GraphQLClientGraphQLError,
    GraphQLClientGraphQLMultiError,
    GraphQLClientHttpError,
    GraphQLClientInvalidResponseError,
)
from .fragments import (
    ArtifactFields,
    DryRunSummary,
    DryRunSummaryProject,
    DryRunSummaryStatus,
    LawFields,
    ProgressFields,
    ProjectFields,
    RegistryCredentialFields,
    SimulationFields,
    SimulationFieldsProgress,
    SummaryFields,
    TemplateFields,
    TemplateFieldsProject,
    TokenFields,
    UpdateFields,
    VirtualClusterFields,
    VirtualClusterFieldsPools,
)
from .input_types import (
    CompletedPartInput,
    CreateDryRunFromTemplateInput,
    CreateDryRunInput,
    CreateVirtualClusterInput,
    CreateWorkflowTemplateInput,
    DockerRegistryCredentialInput,
    InputArtifactInput,
    LabelInput,
    NodePoolInput,
    ParameterInput,
    ScalingLawInput,
    StartSimulationInput,
    StepFiguresInput,
    TaintInput,
    TimingInput,
    UpdateWorkflowTemplateInput,
)
from .predict_scaling import (
    PredictScaling,
    PredictScalingPredictScaling,
    PredictScalingPredictScalingSteps,
)
from .project import (
    Project,
    ProjectProject,
    ProjectProjectDryRuns,
    ProjectProjectWorkflowTemplates,
)
from .project_dry_run_updates import (
    ProjectDryRunUpdates,
    ProjectDryRunUpdatesProjectDryRunUpdates,
)
from .projects import Projects, ProjectsProjects
from .registry_credentials import (
    RegistryCredentials,
    RegistryCredentialsDockerRegistryCredentials,
)
from .rename_project import RenameProject, RenameProjectRenameProject
from .resume_dry_run import ResumeDryRun, ResumeDryRunResumeDryRun
from .retry_dry_run import RetryDryRun, RetryDryRunRetryDryRun
from .revoke_access_token import RevokeAccessToken
from .scaling_laws import (
    ScalingLaws,
    ScalingLawsComputeScalingLawsFromNodesMetrics,
    ScalingLawsComputeScalingLawsFromNodesMetricsCpu,
    ScalingLawsComputeScalingLawsFromNodesMetricsDuration,
    ScalingLawsComputeScalingLawsFromNodesMetricsMem,
)
from .simulation import Simulation, SimulationSimulation
from .simulation_progress import (
    SimulationProgress,
    SimulationProgressSimulationProgress,
    SimulationProgressSimulationProgressProgress,
)
from .simulation_report import (
    SimulationReport,
    SimulationReportSimulationReport,
    SimulationReportSimulationReportPools,
    SimulationReportSimulationReportSteps,
    SimulationReportSimulationReportUnschedulable,
)
from .simulations import Simulations, SimulationsSimulations
from .start_simulation import StartSimulation, StartSimulationStartSimulation
from .step_artifacts import (
    StepArtifacts,
    StepArtifactsDryRun,
    StepArtifactsDryRunNodeDryRunNode,
    StepArtifactsDryRunNodeDryRunNodePod,
    StepArtifactsDryRunNodeDryRunNodePodInputArtifacts,
    StepArtifactsDryRunNodeDryRunNodePodOutputArtifacts,
)
from .step_log import (
    StepLog,
    StepLogDryRun,
    StepLogDryRunNodeDryRunNode,
    StepLogDryRunNodeDryRunNodePod,
)
from .step_series import (
    StepSeries,
    StepSeriesDryRun,
    StepSeriesDryRunNodeDryRunNode,
    StepSeriesDryRunNodeDryRunNodePod,
    StepSeriesDryRunNodeDryRunNodePodMetrics,
)
from .stop_dry_run import StopDryRun, StopDryRunStopDryRun
from .suspend_dry_run import SuspendDryRun, SuspendDryRunSuspendDryRun
from .update_registry_credential import (
    UpdateRegistryCredential,
    UpdateRegistryCredentialUpdateDockerRegistryCredential,
)
from .update_workflow_template import (
    UpdateWorkflowTemplate,
    UpdateWorkflowTemplateUpdateWorkflowTemplate,
)
from .upload_part_urls import UploadPartUrls, UploadPartUrlsUploadPartUrls
from .upload_url import UploadUrl
from .virtual_clusters import VirtualClusters, VirtualClustersVirtualClusters
from .whoami import Whoami
from .workflow_template import WorkflowTemplate, WorkflowTemplateWorkflowTemplate

__all__ = [
    "AbortMultipartUpload",
    "AccessTokens",
    "AccessTokensAccessTokens",
    "ArtifactFields",
    "ArtifactMetadata",
    "ArtifactMetadataArtifact",
    "Artifacts",
    "ArtifactsArtifacts",
    "AsyncBaseClient",
    "BaseModel",
    "Buckets",
    "BucketsBuckets",
    "CancelSimulation",
    "CancelSimulationCancelSimulation",
    "CompareSimulations",
    "CompareSimulationsCompareSimulations",
    "CompareSimulationsCompareSimulationsSteps",
    "CompleteMultipartUpload",
    "CompleteMultipartUploadCompleteMultipartUpload",
    "CompletedPartInput",
    "CreateAccessToken",
    "CreateAccessTokenCreateAccessToken",
    "CreateAccessTokenCreateAccessTokenAccessToken",
    "CreateDryRun",
    "CreateDryRunCreateDryRun",
    "CreateDryRunFromTemplate",
    "CreateDryRunFromTemplateCreateDryRunFromTemplate",
    "CreateDryRunFromTemplateInput",
    "CreateDryRunInput",
    "CreateMultipartUpload",
    "CreateMultipartUploadCreateMultipartUpload",
    "CreateProject",
    "CreateProjectCreateProject",
    "CreateRegistryCredential",
    "CreateRegistryCredentialCreateDockerRegistryCredential",
    "CreateVirtualCluster",
    "CreateVirtualClusterCreateVirtualCluster",
    "CreateVirtualClusterInput",
    "CreateWorkflowTemplate",
    "CreateWorkflowTemplateCreateWorkflowTemplate",
    "CreateWorkflowTemplateInput",
    "DeleteArtifacts",
    "DeleteDryRun",
    "DeleteProject",
    "DeleteRegistryCredential",
    "DeleteSimulation",
    "DeleteVirtualCluster",
    "DeleteWorkflowTemplate",
    "DockerRegistryCredentialInput",
    "DryRun",
    "DryRunDryRun",
    "DryRunDryRunNodesDryRunNode",
    "DryRunDryRunNodesDryRunNodePod",
    "DryRunNodePhase",
    "DryRunNodeType",
    "DryRunPhase",
    "DryRunReport",
    "DryRunReportDryRun",
    "DryRunReportDryRunMetricsSummary",
    "DryRunReportDryRunMetricsSummaryRun",
    "DryRunReportDryRunMetricsSummarySteps",
    "DryRunReportDryRunMetricsSummaryStepsSummary",
    "DryRunReportDryRunReport",
    "DryRunStepLog",
    "DryRunStepLogDryRunStepLog",
    "DryRunSummary",
    "DryRunSummaryProject",
    "DryRunSummaryStatus",
    "DryRunUpdates",
    "DryRunUpdatesDryRunUpdates",
    "GeneratedAsyncClient",
    "GraphQLClientError",
    "GraphQLClientGraphQLError",
    "GraphQLClientGraphQLMultiError",
    "GraphQLClientHttpError",
    "GraphQLClientInvalidResponseError",
    "InputArtifactInput",
    "LabelInput",
    "LawFields",
    "NodePoolInput",
    "ParameterInput",
    "Placement",
    "PredictScaling",
    "PredictScalingPredictScaling",
    "PredictScalingPredictScalingSteps",
    "ProgressFields",
    "Project",
    "ProjectDryRunUpdates",
    "ProjectDryRunUpdatesProjectDryRunUpdates",
    "ProjectFields",
    "ProjectProject",
    "ProjectProjectDryRuns",
    "ProjectProjectWorkflowTemplates",
    "Projects",
    "ProjectsProjects",
    "RegistryCredentialFields",
    "RegistryCredentials",
    "RegistryCredentialsDockerRegistryCredentials",
    "RenameProject",
    "RenameProjectRenameProject",
    "ResumeDryRun",
    "ResumeDryRunResumeDryRun",
    "RetryDryRun",
    "RetryDryRunRetryDryRun",
    "RevokeAccessToken",
    "Sandbox",
    "ScalingLawInput",
    "ScalingLaws",
    "ScalingLawsComputeScalingLawsFromNodesMetrics",
    "ScalingLawsComputeScalingLawsFromNodesMetricsCpu",
    "ScalingLawsComputeScalingLawsFromNodesMetricsDuration",
    "ScalingLawsComputeScalingLawsFromNodesMetricsMem",
    "Simulation",
    "SimulationFields",
    "SimulationFieldsProgress",
    "SimulationPhase",
    "SimulationProgress",
    "SimulationProgressSimulationProgress",
    "SimulationProgressSimulationProgressProgress",
    "SimulationReport",
    "SimulationReportSimulationReport",
    "SimulationReportSimulationReportPools",
    "SimulationReportSimulationReportSteps",
    "SimulationReportSimulationReportUnschedulable",
    "SimulationSimulation",
    "Simulations",
    "SimulationsSimulations",
    "StartSimulation",
    "StartSimulationInput",
    "StartSimulationStartSimulation",
    "StepArtifacts",
    "StepArtifactsDryRun",
    "StepArtifactsDryRunNodeDryRunNode",
    "StepArtifactsDryRunNodeDryRunNodePod",
    "StepArtifactsDryRunNodeDryRunNodePodInputArtifacts",
    "StepArtifactsDryRunNodeDryRunNodePodOutputArtifacts",
    "StepFiguresInput",
    "StepLog",
    "StepLogDryRun",
    "StepLogDryRunNodeDryRunNode",
    "StepLogDryRunNodeDryRunNodePod",
    "StepSeries",
    "StepSeriesDryRun",
    "StepSeriesDryRunNodeDryRunNode",
    "StepSeriesDryRunNodeDryRunNodePod",
    "StepSeriesDryRunNodeDryRunNodePodMetrics",
    "StopDryRun",
    "StopDryRunStopDryRun",
    "SummaryFields",
    "SuspendDryRun",
    "SuspendDryRunSuspendDryRun",
    "TaintEffect",
    "TaintInput",
    "TemplateFields",
    "TemplateFieldsProject",
    "TimingInput",
    "TokenFields",
    "UpdateFields",
    "UpdateRegistryCredential",
    "UpdateRegistryCredentialUpdateDockerRegistryCredential",
    "UpdateWorkflowTemplate",
    "UpdateWorkflowTemplateInput",
    "UpdateWorkflowTemplateUpdateWorkflowTemplate",
    "Upload",
    "UploadPartUrls",
    "UploadPartUrlsUploadPartUrls",
    "UploadUrl",
    "VirtualClusterFields",
    "VirtualClusterFieldsPools",
    "VirtualClusters",
    "VirtualClustersVirtualClusters",
    "Whoami",
    "WorkflowTemplate",
    "WorkflowTemplateWorkflowTemplate",
]
