"""The WorkflowSubmitter gRPC service: requests in, domain calls, typed errors out."""

from dataclasses import dataclass

from simpipe.v1 import dry_runs_pb2, workflow_submitter_pb2, workflow_submitter_pb2_grpc
from simpipe_common.errors import Context, typed_errors
from simpipe_workflow_submitter import validation
from simpipe_workflow_submitter.dry_runs import DryRuns, namespace_of
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.registry_credentials import RegistryCredentials
from simpipe_workflow_submitter.templates import Templates, to_message

pb = workflow_submitter_pb2


@dataclass
class WorkflowSubmitterApi(workflow_submitter_pb2_grpc.WorkflowSubmitterServicer):
    projects: ProjectStore
    templates: Templates
    dry_runs: DryRuns
    registry_credentials: RegistryCredentials

    # Projects
    @typed_errors
    async def CreateProject(
        self, request: pb.CreateProjectRequest, context: Context
    ) -> dry_runs_pb2.Project:
        caller = validation.caller(request.caller)
        return await self.projects.create(caller, request.name, request.id)

    @typed_errors
    async def RenameProject(
        self, request: pb.RenameProjectRequest, context: Context
    ) -> dry_runs_pb2.Project:
        caller = validation.caller(request.caller)
        return await self.projects.rename(caller, request.project_id, request.name)

    @typed_errors
    async def DeleteProject(self, request: pb.ProjectRef, context: Context) -> pb.DeleteResponse:
        await self.projects.delete(validation.caller(request.caller), request.project_id)
        return pb.DeleteResponse(deleted=True)

    @typed_errors
    async def GetProject(self, request: pb.ProjectRef, context: Context) -> dry_runs_pb2.Project:
        return await self.projects.get(validation.caller(request.caller), request.project_id)

    @typed_errors
    async def ListProjects(
        self, request: pb.ListProjectsRequest, context: Context
    ) -> pb.ListProjectsResponse:
        projects = await self.projects.list(validation.caller(request.caller))
        return pb.ListProjectsResponse(projects=projects)

    # Workflow templates
    @typed_errors
    async def CreateWorkflowTemplate(
        self, request: pb.WorkflowTemplateRequest, context: Context
    ) -> dry_runs_pb2.WorkflowTemplate:
        return await self.templates.create(request)

    @typed_errors
    async def UpdateWorkflowTemplate(
        self, request: pb.WorkflowTemplateRequest, context: Context
    ) -> dry_runs_pb2.WorkflowTemplate:
        return await self.templates.update(request)

    @typed_errors
    async def DeleteWorkflowTemplate(
        self, request: pb.WorkflowTemplateRef, context: Context
    ) -> pb.DeleteResponse:
        await self.templates.delete(request.caller, request.name)
        return pb.DeleteResponse(deleted=True)

    @typed_errors
    async def GetWorkflowTemplate(
        self, request: pb.WorkflowTemplateRef, context: Context
    ) -> dry_runs_pb2.WorkflowTemplate:
        return await self.templates.get(request.caller, request.name)

    @typed_errors
    async def ListWorkflowTemplates(
        self, request: pb.ProjectRef, context: Context
    ) -> pb.ListWorkflowTemplatesResponse:
        caller = validation.caller(request.caller)
        await self.projects.get(caller, request.project_id)
        found = await self.templates.argo.list_templates(caller, request.project_id)
        return pb.ListWorkflowTemplatesResponse(workflow_templates=[to_message(t) for t in found])

    # Dry runs
    @typed_errors
    async def CreateDryRun(self, request: pb.CreateDryRunRequest, context: Context) -> pb.DryRunRef:
        name = await self.dry_runs.create(request)
        return pb.DryRunRef(caller=request.caller, dry_run_id=name)

    @typed_errors
    async def SuspendDryRun(self, request: pb.DryRunRef, context: Context) -> pb.DryRunRef:
        run = await self.dry_runs.owned(request.caller, request.dry_run_id)
        await self.dry_runs.argo.suspend(request.dry_run_id, namespace_of(run))
        return request

    @typed_errors
    async def ResumeDryRun(self, request: pb.DryRunRef, context: Context) -> pb.DryRunRef:
        run = await self.dry_runs.checked(request.caller, request.dry_run_id)
        await self.dry_runs.argo.resume(request.dry_run_id, namespace_of(run))
        return request

    @typed_errors
    async def RetryDryRun(self, request: pb.DryRunRef, context: Context) -> pb.DryRunRef:
        run = await self.dry_runs.checked(request.caller, request.dry_run_id)
        await self.dry_runs.argo.retry(request.dry_run_id, namespace_of(run))
        return request

    @typed_errors
    async def ResubmitDryRun(self, request: pb.DryRunRef, context: Context) -> pb.DryRunRef:
        name = await self.dry_runs.resubmit(request.caller, request.dry_run_id)
        return pb.DryRunRef(caller=request.caller, dry_run_id=name)

    @typed_errors
    async def StopDryRun(self, request: pb.StopDryRunRequest, context: Context) -> pb.DryRunRef:
        run = await self.dry_runs.owned(request.caller, request.dry_run_id)
        if request.terminate:
            await self.dry_runs.argo.terminate(request.dry_run_id, namespace_of(run))
        else:
            await self.dry_runs.argo.stop(request.dry_run_id, namespace_of(run))
        return pb.DryRunRef(caller=request.caller, dry_run_id=request.dry_run_id)

    @typed_errors
    async def DeleteDryRun(self, request: pb.DryRunRef, context: Context) -> pb.DeleteResponse:
        run = await self.dry_runs.owned(request.caller, request.dry_run_id)
        await self.dry_runs.argo.delete_workflow(request.dry_run_id, namespace_of(run))
        return pb.DeleteResponse(deleted=True)

    @typed_errors
    async def AssignDryRunToProject(
        self, request: pb.AssignDryRunRequest, context: Context
    ) -> pb.DryRunRef:
        name = await self.dry_runs.assign(request.caller, request.dry_run_id, request.project_id)
        return pb.DryRunRef(caller=request.caller, dry_run_id=name)

    # Registry credentials
    @typed_errors
    async def ListRegistryCredentials(
        self, request: pb.ListRegistryCredentialsRequest, context: Context
    ) -> pb.ListRegistryCredentialsResponse:
        found = await self.registry_credentials.list(request.caller)
        return pb.ListRegistryCredentialsResponse(credentials=found)

    @typed_errors
    async def CreateRegistryCredential(
        self, request: pb.RegistryCredentialRequest, context: Context
    ) -> pb.RegistryCredential:
        return await self.registry_credentials.create(request)

    @typed_errors
    async def UpdateRegistryCredential(
        self, request: pb.RegistryCredentialRequest, context: Context
    ) -> pb.RegistryCredential:
        return await self.registry_credentials.update(request)

    @typed_errors
    async def DeleteRegistryCredential(
        self, request: pb.RegistryCredentialRef, context: Context
    ) -> pb.DeleteResponse:
        await self.registry_credentials.delete(request.caller, request.name)
        return pb.DeleteResponse(deleted=True)
