from simpipe_common.kube import argo_cluster_checks
from simpipe_common.runner import Service, run_service
from simpipe_kwok_scaler.config import KwokScalerSettings


def main() -> None:
    settings = KwokScalerSettings()
    run_service(
        Service(
            name="kwok-scaler",
            settings=settings,
            dependencies=argo_cluster_checks(settings),
        )
    )


if __name__ == "__main__":
    main()
