from simpipe_common.checks import http_check, nats_check
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check
from simpipe_metrics_collector.config import MetricsCollectorSettings


def main() -> None:
    settings = MetricsCollectorSettings()
    timeout = settings.check_timeout_seconds
    run_service(
        Service(
            name="metrics-collector",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout),
                http_check("prometheus", f"{settings.prometheus_url}/-/ready", timeout),
                s3_check(settings, timeout),
            ],
        )
    )


if __name__ == "__main__":
    main()
