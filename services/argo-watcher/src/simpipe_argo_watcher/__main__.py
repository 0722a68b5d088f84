from simpipe_argo_watcher.config import ArgoWatcherSettings
from simpipe_common.checks import http_check, nats_check
from simpipe_common.kube import kubernetes_check
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check


def main() -> None:
    settings = ArgoWatcherSettings()
    timeout = settings.check_timeout_seconds
    run_service(
        Service(
            name="argo-watcher",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout),
                kubernetes_check(settings.kubeconfig, timeout),
                http_check("argo", f"{settings.argo_server_url}/api/v1/version", timeout),
                s3_check(settings, timeout),
            ],
        )
    )


if __name__ == "__main__":
    main()
