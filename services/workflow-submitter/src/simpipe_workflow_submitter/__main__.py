from simpipe_common.checks import http_check, nats_check
from simpipe_common.kube import kubernetes_check
from simpipe_common.runner import Service, run_service
from simpipe_workflow_submitter.config import WorkflowSubmitterSettings


def main() -> None:
    settings = WorkflowSubmitterSettings()
    timeout = settings.check_timeout_seconds
    run_service(
        Service(
            name="workflow-submitter",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout),
                kubernetes_check(settings.kubeconfig, timeout),
                http_check("argo", f"{settings.argo_server_url}/api/v1/version", timeout),
            ],
        )
    )


if __name__ == "__main__":
    main()
