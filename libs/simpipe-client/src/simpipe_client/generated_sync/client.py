from typing import Any, Optional, Union

from .abort_multipart_upload import AbortMultipartUpload
from .access_tokens import AccessTokens
from .artifact_metadata import ArtifactMetadata
from .artifacts import Artifacts
from .base_client import BaseClient
from .base_model import UNSET, UnsetType
from .buckets import Buckets
from .cancel_simulation import CancelSimulation
from .compare_simulations import CompareSimulations
from .complete_multipart_upload import CompleteMultipartUpload
from .create_access_token import CreateAccessToken
from .create_dry_run import CreateDryRun
from .create_dry_run_from_template import CreateDryRunFromTemplate
from .create_multipart_upload import CreateMultipartUpload
from .create_project import CreateProject
from .create_registry_credential import CreateRegistryCredential
from .create_virtual_cluster import CreateVirtualCluster
from .create_workflow_template import CreateWorkflowTemplate
from .delete_artifacts import DeleteArtifacts
from .delete_dry_run import DeleteDryRun
from .delete_project import DeleteProject
from .delete_registry_credential import DeleteRegistryCredential
from .delete_simulation import DeleteSimulation
from .delete_virtual_cluster import DeleteVirtualCluster
from .delete_workflow_template import DeleteWorkflowTemplate
from .dry_run import DryRun
from .dry_run_report import DryRunReport
from .input_types import (
    CompletedPartInput,
    CreateDryRunFromTemplateInput,
    CreateDryRunInput,
    CreateVirtualClusterInput,
    CreateWorkflowTemplateInput,
    DockerRegistryCredentialInput,
    StartSimulationInput,
    UpdateWorkflowTemplateInput,
)
from .predict_scaling import PredictScaling
from .project import Project
from .projects import Projects
from .registry_credentials import RegistryCredentials
from .rename_project import RenameProject
from .resume_dry_run import ResumeDryRun
from .retry_dry_run import RetryDryRun
from .revoke_access_token import RevokeAccessToken
from .scaling_laws import ScalingLaws
from .simulation import Simulation
from .simulation_report import SimulationReport
from .simulations import Simulations
from .start_simulation import StartSimulation
from .step_artifacts import StepArtifacts
from .step_log import StepLog
from .step_series import StepSeries
from .stop_dry_run import StopDryRun
from .suspend_dry_run import SuspendDryRun
from .update_registry_credential import UpdateRegistryCredential
from .update_workflow_template import UpdateWorkflowTemplate
from .upload_part_urls import UploadPartUrls
from .upload_url import UploadUrl
from .virtual_clusters import VirtualClusters
from .whoami import Whoami
from .workflow_template import WorkflowTemplate


def gql(q: str) -> str:
    return q


class GeneratedSyncClient(BaseClient):
    def access_tokens(self, **kwargs: Any) -> AccessTokens:
        query = gql("""
            query AccessTokens {
              accessTokens {
                ...TokenFields
              }
            }

            fragment TokenFields on AccessToken {
              id
              name
              createdAt
              expiresAt
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query, operation_name="AccessTokens", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return AccessTokens.model_validate(data)

    def create_access_token(
        self,
        name: str,
        expires_in_days: Union[Optional[int], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> CreateAccessToken:
        query = gql("""
            mutation CreateAccessToken($name: String!, $expiresInDays: Int) {
              createAccessToken(name: $name, expiresInDays: $expiresInDays) {
                token
                accessToken {
                  ...TokenFields
                }
              }
            }

            fragment TokenFields on AccessToken {
              id
              name
              createdAt
              expiresAt
            }
            """)
        variables: dict[str, object] = {"name": name, "expiresInDays": expires_in_days}
        response = self.execute(
            query=query,
            operation_name="CreateAccessToken",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateAccessToken.model_validate(data)

    def revoke_access_token(self, id: str, **kwargs: Any) -> RevokeAccessToken:
        query = gql("""
            mutation RevokeAccessToken($id: String!) {
              revokeAccessToken(id: $id)
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="RevokeAccessToken",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return RevokeAccessToken.model_validate(data)

    def registry_credentials(self, **kwargs: Any) -> RegistryCredentials:
        query = gql("""
            query RegistryCredentials {
              dockerRegistryCredentials {
                ...RegistryCredentialFields
              }
            }

            fragment RegistryCredentialFields on DockerRegistryCredential {
              name
              username
              server
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query,
            operation_name="RegistryCredentials",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return RegistryCredentials.model_validate(data)

    def create_registry_credential(
        self, credential: DockerRegistryCredentialInput, **kwargs: Any
    ) -> CreateRegistryCredential:
        query = gql("""
            mutation CreateRegistryCredential($credential: DockerRegistryCredentialInput!) {
              createDockerRegistryCredential(credential: $credential) {
                ...RegistryCredentialFields
              }
            }

            fragment RegistryCredentialFields on DockerRegistryCredential {
              name
              username
              server
            }
            """)
        variables: dict[str, object] = {"credential": credential}
        response = self.execute(
            query=query,
            operation_name="CreateRegistryCredential",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateRegistryCredential.model_validate(data)

    def update_registry_credential(
        self, credential: DockerRegistryCredentialInput, **kwargs: Any
    ) -> UpdateRegistryCredential:
        query = gql("""
            mutation UpdateRegistryCredential($credential: DockerRegistryCredentialInput!) {
              updateDockerRegistryCredential(credential: $credential) {
                ...RegistryCredentialFields
              }
            }

            fragment RegistryCredentialFields on DockerRegistryCredential {
              name
              username
              server
            }
            """)
        variables: dict[str, object] = {"credential": credential}
        response = self.execute(
            query=query,
            operation_name="UpdateRegistryCredential",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return UpdateRegistryCredential.model_validate(data)

    def delete_registry_credential(
        self, name: str, **kwargs: Any
    ) -> DeleteRegistryCredential:
        query = gql("""
            mutation DeleteRegistryCredential($name: String!) {
              deleteDockerRegistryCredential(name: $name)
            }
            """)
        variables: dict[str, object] = {"name": name}
        response = self.execute(
            query=query,
            operation_name="DeleteRegistryCredential",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteRegistryCredential.model_validate(data)

    def dry_run(self, dry_run_id: str, **kwargs: Any) -> DryRun:
        query = gql("""
            query DryRun($dryRunId: String!) {
              dryRun(dryRunId: $dryRunId) {
                ...DryRunSummary
                nodes {
                  __typename
                  ...StepFields
                }
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }

            fragment StepFields on DryRunNode {
              id
              type
              name
              displayName
              templateName
              phase
              startedAt
              finishedAt
              duration
              message
              ... on DryRunNodePod {
                exitCode
                podName
              }
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="DryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DryRun.model_validate(data)

    def dry_run_report(self, dry_run_id: str, **kwargs: Any) -> DryRunReport:
        query = gql("""
            query DryRunReport($dryRunId: String!) {
              dryRun(dryRunId: $dryRunId) {
                id
                report {
                  uid
                  phase
                  createdAt
                  url
                  parquetUrl
                  urlExpiresSeconds
                }
                metricsSummary {
                  run {
                    ...SummaryFields
                  }
                  steps {
                    nodeId
                    displayName
                    podName
                    summary {
                      ...SummaryFields
                    }
                  }
                }
              }
            }

            fragment SummaryFields on MetricsSummary {
              durationSeconds
              cpuSeconds
              maxCpuCores
              avgCpuCores
              maxMemoryBytes
              avgMemoryBytes
              networkReceiveBytes
              networkTransmitBytes
              fsReadBytes
              fsWriteBytes
              energyKwh
              carbonGCo2
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="DryRunReport", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DryRunReport.model_validate(data)

    def step_log(
        self,
        dry_run_id: str,
        node_id: str,
        max_lines: Union[Optional[int], UnsetType] = UNSET,
        grep: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> StepLog:
        query = gql("""
            query StepLog($dryRunId: String!, $nodeId: String!, $maxLines: Int, $grep: String) {
              dryRun(dryRunId: $dryRunId) {
                id
                node(id: $nodeId) {
                  __typename
                  id
                  displayName
                  ... on DryRunNodePod {
                    log(maxLines: $maxLines, grep: $grep)
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "dryRunId": dry_run_id,
            "nodeId": node_id,
            "maxLines": max_lines,
            "grep": grep,
        }
        response = self.execute(
            query=query, operation_name="StepLog", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StepLog.model_validate(data)

    def step_artifacts(
        self, dry_run_id: str, node_id: str, **kwargs: Any
    ) -> StepArtifacts:
        query = gql("""
            query StepArtifacts($dryRunId: String!, $nodeId: String!) {
              dryRun(dryRunId: $dryRunId) {
                id
                node(id: $nodeId) {
                  __typename
                  id
                  ... on DryRunNodePod {
                    inputArtifacts {
                      ...ArtifactFields
                    }
                    outputArtifacts {
                      ...ArtifactFields
                    }
                  }
                }
              }
            }

            fragment ArtifactFields on Artifact {
              name
              key
              url
              size
              bucketName
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id, "nodeId": node_id}
        response = self.execute(
            query=query, operation_name="StepArtifacts", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StepArtifacts.model_validate(data)

    def step_series(
        self,
        dry_run_id: str,
        node_id: str,
        metrics: Union[Optional[list[str]], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> StepSeries:
        query = gql("""
            query StepSeries($dryRunId: String!, $nodeId: String!, $metrics: [String!]) {
              dryRun(dryRunId: $dryRunId) {
                id
                node(id: $nodeId) {
                  __typename
                  id
                  ... on DryRunNodePod {
                    metrics {
                      seriesTable(metrics: $metrics)
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "dryRunId": dry_run_id,
            "nodeId": node_id,
            "metrics": metrics,
        }
        response = self.execute(
            query=query, operation_name="StepSeries", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StepSeries.model_validate(data)

    def create_dry_run(self, input: CreateDryRunInput, **kwargs: Any) -> CreateDryRun:
        query = gql("""
            mutation CreateDryRun($input: CreateDryRunInput!) {
              createDryRun(input: $input) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query, operation_name="CreateDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateDryRun.model_validate(data)

    def create_dry_run_from_template(
        self, input: CreateDryRunFromTemplateInput, **kwargs: Any
    ) -> CreateDryRunFromTemplate:
        query = gql("""
            mutation CreateDryRunFromTemplate($input: CreateDryRunFromTemplateInput!) {
              createDryRunFromTemplate(input: $input) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query,
            operation_name="CreateDryRunFromTemplate",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateDryRunFromTemplate.model_validate(data)

    def stop_dry_run(
        self,
        dry_run_id: str,
        terminate: Union[Optional[bool], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> StopDryRun:
        query = gql("""
            mutation StopDryRun($dryRunId: String!, $terminate: Boolean) {
              stopDryRun(dryRunId: $dryRunId, terminate: $terminate) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id, "terminate": terminate}
        response = self.execute(
            query=query, operation_name="StopDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StopDryRun.model_validate(data)

    def suspend_dry_run(self, dry_run_id: str, **kwargs: Any) -> SuspendDryRun:
        query = gql("""
            mutation SuspendDryRun($dryRunId: String!) {
              suspendDryRun(dryRunId: $dryRunId) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="SuspendDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SuspendDryRun.model_validate(data)

    def resume_dry_run(self, dry_run_id: str, **kwargs: Any) -> ResumeDryRun:
        query = gql("""
            mutation ResumeDryRun($dryRunId: String!) {
              resumeDryRun(dryRunId: $dryRunId) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="ResumeDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ResumeDryRun.model_validate(data)

    def retry_dry_run(self, dry_run_id: str, **kwargs: Any) -> RetryDryRun:
        query = gql("""
            mutation RetryDryRun($dryRunId: String!) {
              retryDryRun(dryRunId: $dryRunId) {
                ...DryRunSummary
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="RetryDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RetryDryRun.model_validate(data)

    def delete_dry_run(self, dry_run_id: str, **kwargs: Any) -> DeleteDryRun:
        query = gql("""
            mutation DeleteDryRun($dryRunId: String!) {
              deleteDryRun(dryRunId: $dryRunId)
            }
            """)
        variables: dict[str, object] = {"dryRunId": dry_run_id}
        response = self.execute(
            query=query, operation_name="DeleteDryRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteDryRun.model_validate(data)

    def buckets(self, **kwargs: Any) -> Buckets:
        query = gql("""
            query Buckets {
              buckets {
                name
                reserved
              }
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query, operation_name="Buckets", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Buckets.model_validate(data)

    def artifacts(
        self,
        bucket_name: Union[Optional[str], UnsetType] = UNSET,
        prefix: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Artifacts:
        query = gql("""
            query Artifacts($bucketName: String, $prefix: String) {
              artifacts(bucketName: $bucketName, prefix: $prefix) {
                ...ArtifactFields
              }
            }

            fragment ArtifactFields on Artifact {
              name
              key
              url
              size
              bucketName
            }
            """)
        variables: dict[str, object] = {"bucketName": bucket_name, "prefix": prefix}
        response = self.execute(
            query=query, operation_name="Artifacts", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Artifacts.model_validate(data)

    def artifact_metadata(
        self, bucket_name: str, key: str, **kwargs: Any
    ) -> ArtifactMetadata:
        query = gql("""
            query ArtifactMetadata($bucketName: String!, $key: String!) {
              artifact(bucketName: $bucketName, key: $key) {
                etag
                lastModified
                size
              }
            }
            """)
        variables: dict[str, object] = {"bucketName": bucket_name, "key": key}
        response = self.execute(
            query=query,
            operation_name="ArtifactMetadata",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ArtifactMetadata.model_validate(data)

    def upload_url(
        self,
        key: Union[Optional[str], UnsetType] = UNSET,
        bucket_name: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> UploadUrl:
        query = gql("""
            mutation UploadUrl($key: String, $bucketName: String) {
              computeUploadPresignedUrl(key: $key, bucketName: $bucketName)
            }
            """)
        variables: dict[str, object] = {"key": key, "bucketName": bucket_name}
        response = self.execute(
            query=query, operation_name="UploadUrl", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UploadUrl.model_validate(data)

    def create_multipart_upload(
        self,
        key: str,
        bucket_name: Union[Optional[str], UnsetType] = UNSET,
        content_type: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> CreateMultipartUpload:
        query = gql("""
            mutation CreateMultipartUpload($key: String!, $bucketName: String, $contentType: String) {
              createMultipartUpload(
                key: $key
                bucketName: $bucketName
                contentType: $contentType
              ) {
                bucketName
                key
                uploadId
              }
            }
            """)
        variables: dict[str, object] = {
            "key": key,
            "bucketName": bucket_name,
            "contentType": content_type,
        }
        response = self.execute(
            query=query,
            operation_name="CreateMultipartUpload",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateMultipartUpload.model_validate(data)

    def upload_part_urls(
        self,
        bucket_name: str,
        key: str,
        upload_id: str,
        part_numbers: list[int],
        **kwargs: Any,
    ) -> UploadPartUrls:
        query = gql("""
            mutation UploadPartUrls($bucketName: String!, $key: String!, $uploadId: String!, $partNumbers: [Int!]!) {
              uploadPartUrls(
                bucketName: $bucketName
                key: $key
                uploadId: $uploadId
                partNumbers: $partNumbers
              ) {
                partNumber
                url
              }
            }
            """)
        variables: dict[str, object] = {
            "bucketName": bucket_name,
            "key": key,
            "uploadId": upload_id,
            "partNumbers": part_numbers,
        }
        response = self.execute(
            query=query, operation_name="UploadPartUrls", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UploadPartUrls.model_validate(data)

    def complete_multipart_upload(
        self,
        bucket_name: str,
        key: str,
        upload_id: str,
        parts: list[CompletedPartInput],
        **kwargs: Any,
    ) -> CompleteMultipartUpload:
        query = gql("""
            mutation CompleteMultipartUpload($bucketName: String!, $key: String!, $uploadId: String!, $parts: [CompletedPartInput!]!) {
              completeMultipartUpload(
                bucketName: $bucketName
                key: $key
                uploadId: $uploadId
                parts: $parts
              ) {
                ...ArtifactFields
              }
            }

            fragment ArtifactFields on Artifact {
              name
              key
              url
              size
              bucketName
            }
            """)
        variables: dict[str, object] = {
            "bucketName": bucket_name,
            "key": key,
            "uploadId": upload_id,
            "parts": parts,
        }
        response = self.execute(
            query=query,
            operation_name="CompleteMultipartUpload",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CompleteMultipartUpload.model_validate(data)

    def abort_multipart_upload(
        self, bucket_name: str, key: str, upload_id: str, **kwargs: Any
    ) -> AbortMultipartUpload:
        query = gql("""
            mutation AbortMultipartUpload($bucketName: String!, $key: String!, $uploadId: String!) {
              abortMultipartUpload(bucketName: $bucketName, key: $key, uploadId: $uploadId)
            }
            """)
        variables: dict[str, object] = {
            "bucketName": bucket_name,
            "key": key,
            "uploadId": upload_id,
        }
        response = self.execute(
            query=query,
            operation_name="AbortMultipartUpload",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return AbortMultipartUpload.model_validate(data)

    def delete_artifacts(
        self, bucket_name: str, keys: list[str], **kwargs: Any
    ) -> DeleteArtifacts:
        query = gql("""
            mutation DeleteArtifacts($bucketName: String!, $keys: [String!]!) {
              deleteArtifacts(bucketName: $bucketName, keys: $keys)
            }
            """)
        variables: dict[str, object] = {"bucketName": bucket_name, "keys": keys}
        response = self.execute(
            query=query, operation_name="DeleteArtifacts", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteArtifacts.model_validate(data)

    def whoami(self, **kwargs: Any) -> Whoami:
        query = gql("""
            query Whoami {
              username
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query, operation_name="Whoami", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Whoami.model_validate(data)

    def projects(self, **kwargs: Any) -> Projects:
        query = gql("""
            query Projects {
              projects {
                ...ProjectFields
              }
            }

            fragment ProjectFields on Project {
              id
              name
              createdAt
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query, operation_name="Projects", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Projects.model_validate(data)

    def project(self, project_id: str, **kwargs: Any) -> Project:
        query = gql("""
            query Project($projectId: String!) {
              project(projectId: $projectId) {
                ...ProjectFields
                dryRuns {
                  ...DryRunSummary
                }
                workflowTemplates {
                  name
                }
              }
            }

            fragment DryRunSummary on DryRun {
              id
              createdAt
              nodeName
              project {
                id
              }
              status {
                phase
                startedAt
                finishedAt
                progress
                message
              }
            }

            fragment ProjectFields on Project {
              id
              name
              createdAt
            }
            """)
        variables: dict[str, object] = {"projectId": project_id}
        response = self.execute(
            query=query, operation_name="Project", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Project.model_validate(data)

    def create_project(self, name: str, **kwargs: Any) -> CreateProject:
        query = gql("""
            mutation CreateProject($name: String!) {
              createProject(project: {name: $name}) {
                ...ProjectFields
              }
            }

            fragment ProjectFields on Project {
              id
              name
              createdAt
            }
            """)
        variables: dict[str, object] = {"name": name}
        response = self.execute(
            query=query, operation_name="CreateProject", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateProject.model_validate(data)

    def rename_project(
        self, project_id: str, name: str, **kwargs: Any
    ) -> RenameProject:
        query = gql("""
            mutation RenameProject($projectId: String!, $name: String!) {
              renameProject(projectId: $projectId, name: $name) {
                ...ProjectFields
              }
            }

            fragment ProjectFields on Project {
              id
              name
              createdAt
            }
            """)
        variables: dict[str, object] = {"projectId": project_id, "name": name}
        response = self.execute(
            query=query, operation_name="RenameProject", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RenameProject.model_validate(data)

    def delete_project(self, project_id: str, **kwargs: Any) -> DeleteProject:
        query = gql("""
            mutation DeleteProject($projectId: String!) {
              deleteProject(projectId: $projectId)
            }
            """)
        variables: dict[str, object] = {"projectId": project_id}
        response = self.execute(
            query=query, operation_name="DeleteProject", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteProject.model_validate(data)

    def scaling_laws(
        self,
        dry_run_ids: list[str],
        data_x: list[float],
        regression_method: Union[Optional[str], UnsetType] = UNSET,
        aggregate_method: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ScalingLaws:
        query = gql("""
            query ScalingLaws($dryRunIds: [String]!, $dataX: [Float]!, $regressionMethod: String, $aggregateMethod: String) {
              computeScalingLawsFromNodesMetrics(
                dryRunIds: $dryRunIds
                data_x: $dataX
                regressionMethod: $regressionMethod
                aggregateMethod: $aggregateMethod
              ) {
                nodeName
                cpu {
                  ...LawFields
                }
                mem {
                  ...LawFields
                }
                duration {
                  ...LawFields
                }
              }
            }

            fragment LawFields on ScalingLawData {
              coeffs
              type
              r2
            }
            """)
        variables: dict[str, object] = {
            "dryRunIds": dry_run_ids,
            "dataX": data_x,
            "regressionMethod": regression_method,
            "aggregateMethod": aggregate_method,
        }
        response = self.execute(
            query=query, operation_name="ScalingLaws", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ScalingLaws.model_validate(data)

    def predict_scaling(
        self,
        dry_run_ids: list[str],
        data_x: list[float],
        data_x_to_predict: float,
        regression_method: Union[Optional[str], UnsetType] = UNSET,
        aggregate_method: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> PredictScaling:
        query = gql("""
            query PredictScaling($dryRunIds: [String]!, $dataX: [Float]!, $dataXToPredict: Float!, $regressionMethod: String, $aggregateMethod: String) {
              predictScaling(
                dryRunIds: $dryRunIds
                data_x: $dataX
                data_x_to_predict: $dataXToPredict
                regressionMethod: $regressionMethod
                aggregateMethod: $aggregateMethod
              ) {
                cpu
                mem
                duration
                steps {
                  nodeName
                  cpu
                  mem
                  duration
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "dryRunIds": dry_run_ids,
            "dataX": data_x,
            "dataXToPredict": data_x_to_predict,
            "regressionMethod": regression_method,
            "aggregateMethod": aggregate_method,
        }
        response = self.execute(
            query=query, operation_name="PredictScaling", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return PredictScaling.model_validate(data)

    def virtual_clusters(self, **kwargs: Any) -> VirtualClusters:
        query = gql("""
            query VirtualClusters {
              virtualClusters {
                ...VirtualClusterFields
              }
            }

            fragment VirtualClusterFields on VirtualCluster {
              id
              createdAt
              pools {
                name
                count
                cpu
                memory
                pods
                ready
              }
            }
            """)
        variables: dict[str, object] = {}
        response = self.execute(
            query=query, operation_name="VirtualClusters", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return VirtualClusters.model_validate(data)

    def create_virtual_cluster(
        self, input: CreateVirtualClusterInput, **kwargs: Any
    ) -> CreateVirtualCluster:
        query = gql("""
            mutation CreateVirtualCluster($input: CreateVirtualClusterInput!) {
              createVirtualCluster(input: $input) {
                ...VirtualClusterFields
              }
            }

            fragment VirtualClusterFields on VirtualCluster {
              id
              createdAt
              pools {
                name
                count
                cpu
                memory
                pods
                ready
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query,
            operation_name="CreateVirtualCluster",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateVirtualCluster.model_validate(data)

    def delete_virtual_cluster(self, id: str, **kwargs: Any) -> DeleteVirtualCluster:
        query = gql("""
            mutation DeleteVirtualCluster($id: String!) {
              deleteVirtualCluster(id: $id)
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="DeleteVirtualCluster",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteVirtualCluster.model_validate(data)

    def simulations(
        self, project_id: Union[Optional[str], UnsetType] = UNSET, **kwargs: Any
    ) -> Simulations:
        query = gql("""
            query Simulations($projectId: String) {
              simulations(projectId: $projectId) {
                ...SimulationFields
              }
            }

            fragment ProgressFields on SimulationProgress {
              simulatedSeconds
              stepsDone
              stepsTotal
              podsPending
              copiesDone
            }

            fragment SimulationFields on Simulation {
              id
              projectId
              phase
              message
              dryRunIds
              createdAt
              finishedAt
              progress {
                ...ProgressFields
              }
            }
            """)
        variables: dict[str, object] = {"projectId": project_id}
        response = self.execute(
            query=query, operation_name="Simulations", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Simulations.model_validate(data)

    def simulation(self, id: str, **kwargs: Any) -> Simulation:
        query = gql("""
            query Simulation($id: String!) {
              simulation(id: $id) {
                ...SimulationFields
              }
            }

            fragment ProgressFields on SimulationProgress {
              simulatedSeconds
              stepsDone
              stepsTotal
              podsPending
              copiesDone
            }

            fragment SimulationFields on Simulation {
              id
              projectId
              phase
              message
              dryRunIds
              createdAt
              finishedAt
              progress {
                ...ProgressFields
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query, operation_name="Simulation", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Simulation.model_validate(data)

    def simulation_report(self, id: str, **kwargs: Any) -> SimulationReport:
        query = gql("""
            query SimulationReport($id: String!) {
              simulationReport(id: $id) {
                simulationId
                phase
                makespanSeconds
                orchestrationOverheadSeconds
                peakPodsPending
                energyKwh
                carbonGCo2
                timeScale
                url
                parquetUrl
                steps {
                  copy
                  dryRunId
                  nodeId
                  displayName
                  templateName
                  nodeName
                  pool
                  queuedSeconds
                  runSeconds
                  startedSeconds
                  finishedSeconds
                  phase
                  cpuCores
                  memoryBytes
                }
                pools {
                  pool
                  meanCpu
                  peakCpu
                }
                unschedulable {
                  dryRunId
                  displayName
                  reason
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="SimulationReport",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return SimulationReport.model_validate(data)

    def compare_simulations(
        self,
        a: str,
        b: Union[Optional[str], UnsetType] = UNSET,
        reference_dry_run_id: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> CompareSimulations:
        query = gql("""
            query CompareSimulations($a: String!, $b: String, $referenceDryRunId: String) {
              compareSimulations(a: $a, b: $b, referenceDryRunId: $referenceDryRunId) {
                a
                b
                makespanSecondsA
                makespanSecondsB
                energyKwhA
                energyKwhB
                steps {
                  step
                  runSecondsA
                  runSecondsB
                  queuedSecondsA
                  queuedSecondsB
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "a": a,
            "b": b,
            "referenceDryRunId": reference_dry_run_id,
        }
        response = self.execute(
            query=query,
            operation_name="CompareSimulations",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CompareSimulations.model_validate(data)

    def start_simulation(
        self, input: StartSimulationInput, **kwargs: Any
    ) -> StartSimulation:
        query = gql("""
            mutation StartSimulation($input: StartSimulationInput!) {
              startSimulation(input: $input) {
                ...SimulationFields
              }
            }

            fragment ProgressFields on SimulationProgress {
              simulatedSeconds
              stepsDone
              stepsTotal
              podsPending
              copiesDone
            }

            fragment SimulationFields on Simulation {
              id
              projectId
              phase
              message
              dryRunIds
              createdAt
              finishedAt
              progress {
                ...ProgressFields
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query, operation_name="StartSimulation", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StartSimulation.model_validate(data)

    def cancel_simulation(self, id: str, **kwargs: Any) -> CancelSimulation:
        query = gql("""
            mutation CancelSimulation($id: String!) {
              cancelSimulation(id: $id) {
                ...SimulationFields
              }
            }

            fragment ProgressFields on SimulationProgress {
              simulatedSeconds
              stepsDone
              stepsTotal
              podsPending
              copiesDone
            }

            fragment SimulationFields on Simulation {
              id
              projectId
              phase
              message
              dryRunIds
              createdAt
              finishedAt
              progress {
                ...ProgressFields
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="CancelSimulation",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CancelSimulation.model_validate(data)

    def delete_simulation(self, id: str, **kwargs: Any) -> DeleteSimulation:
        query = gql("""
            mutation DeleteSimulation($id: String!) {
              deleteSimulation(id: $id)
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="DeleteSimulation",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteSimulation.model_validate(data)

    def workflow_template(self, name: str, **kwargs: Any) -> WorkflowTemplate:
        query = gql("""
            query WorkflowTemplate($name: String!) {
              workflowTemplate(name: $name) {
                ...TemplateFields
              }
            }

            fragment TemplateFields on WorkflowTemplate {
              name
              argoWorkflowTemplate
              project {
                id
              }
            }
            """)
        variables: dict[str, object] = {"name": name}
        response = self.execute(
            query=query,
            operation_name="WorkflowTemplate",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return WorkflowTemplate.model_validate(data)

    def create_workflow_template(
        self, input: CreateWorkflowTemplateInput, **kwargs: Any
    ) -> CreateWorkflowTemplate:
        query = gql("""
            mutation CreateWorkflowTemplate($input: CreateWorkflowTemplateInput!) {
              createWorkflowTemplate(input: $input) {
                ...TemplateFields
              }
            }

            fragment TemplateFields on WorkflowTemplate {
              name
              argoWorkflowTemplate
              project {
                id
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query,
            operation_name="CreateWorkflowTemplate",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateWorkflowTemplate.model_validate(data)

    def update_workflow_template(
        self, update: UpdateWorkflowTemplateInput, **kwargs: Any
    ) -> UpdateWorkflowTemplate:
        query = gql("""
            mutation UpdateWorkflowTemplate($update: UpdateWorkflowTemplateInput!) {
              updateWorkflowTemplate(update: $update) {
                ...TemplateFields
              }
            }

            fragment TemplateFields on WorkflowTemplate {
              name
              argoWorkflowTemplate
              project {
                id
              }
            }
            """)
        variables: dict[str, object] = {"update": update}
        response = self.execute(
            query=query,
            operation_name="UpdateWorkflowTemplate",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return UpdateWorkflowTemplate.model_validate(data)

    def delete_workflow_template(
        self, name: str, **kwargs: Any
    ) -> DeleteWorkflowTemplate:
        query = gql("""
            mutation DeleteWorkflowTemplate($name: String!) {
              deleteWorkflowTemplate(name: $name)
            }
            """)
        variables: dict[str, object] = {"name": name}
        response = self.execute(
            query=query,
            operation_name="DeleteWorkflowTemplate",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteWorkflowTemplate.model_validate(data)
