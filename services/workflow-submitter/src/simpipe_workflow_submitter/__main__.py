from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from simpipe.v1 import workflow_submitter_pb2, workflow_submitter_pb2_grpc
from simpipe_common.argo_auth import ArgoToken
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.kube import argo_cluster_checks
from simpipe_common.runner import Service, run_service
from simpipe_workflow_submitter.api import WorkflowSubmitterApi
from simpipe_workflow_submitter.argo import Argo
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings
from simpipe_workflow_submitter.documents import ArtifactRepository, Bounds
from simpipe_workflow_submitter.dry_runs import DryRuns
from simpipe_workflow_submitter.intake import Intake
from simpipe_workflow_submitter.kube import CustomObjects, Nodes
from simpipe_workflow_submitter.placement import Placements
from simpipe_workflow_submitter.policy import WorkflowPolicy
from simpipe_workflow_submitter.projects import ProjectStore
from simpipe_workflow_submitter.registry_credentials import RegistryCredentials
from simpipe_workflow_submitter.templates import Templates

SERVICE_NAME = workflow_submitter_pb2.DESCRIPTOR.services_by_name["WorkflowSubmitter"].full_name


def main() -> None:
    settings = WorkflowSubmitterSettings()

    event_broker = EventBroker(settings, "workflow-submitter")

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        custom_objects = CustomObjects(settings.kubeconfig)
        argo = Argo(
            settings.argo_server_url, settings.namespace, ArgoToken(settings.argo_token_file),
            settings.run_namespaces,
        )  # fmt: skip
        projects = ProjectStore(custom_objects, settings.namespace)
        bounds = Bounds(
            settings.max_document_bytes, settings.max_document_depth, settings.max_list_items
        )
        intake = Intake(WorkflowPolicy(settings), bounds)
        templates = Templates(argo, projects, settings.namespace, intake)
        registry_credentials = RegistryCredentials.from_settings(settings)
        api = WorkflowSubmitterApi(
            projects=projects,
            templates=templates,
            dry_runs=DryRuns(
                argo, projects, templates, custom_objects, event_broker.publisher,
                settings.namespace, Placements(settings, Nodes(settings.kubeconfig)),
                ArtifactRepository(
                    settings.artifact_s3_endpoint, settings.artifact_s3_insecure,
                    settings.artifact_s3_secret,
                ),
                settings.simulation_namespace, registry_credentials,
            ),
            registry_credentials=registry_credentials,
        )  # fmt: skip
        try:
            async with event_broker.running():
                yield [
                    GrpcRegistration(
                        SERVICE_NAME,
                        lambda server: (
                            workflow_submitter_pb2_grpc.add_WorkflowSubmitterServicer_to_server(
                                api, server
                            )
                        ),
                    )
                ]
        finally:
            await argo.close()

    run_service(
        Service(
            name="workflow-submitter",
            settings=settings,
            dependencies=[*argo_cluster_checks(settings), event_broker.check],
            starting=[event_broker.ready],
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
