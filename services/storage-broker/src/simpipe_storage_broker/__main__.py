from simpipe_common.checks import nats_check
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check
from simpipe_storage_broker.config import StorageBrokerSettings


def main() -> None:
    settings = StorageBrokerSettings()
    timeout = settings.check_timeout_seconds
    run_service(
        Service(
            name="storage-broker",
            settings=settings,
            dependencies=[nats_check(settings.nats_url, timeout), s3_check(settings, timeout)],
        )
    )


if __name__ == "__main__":
    main()
