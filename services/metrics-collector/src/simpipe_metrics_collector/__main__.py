import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from simpipe.v1 import metrics_collector_pb2, metrics_collector_pb2_grpc
from simpipe_common.checks import http_check, nats_check
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.memory import DeferredTrim
from simpipe_common.nats_auth import connect_options
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check, s3_client
from simpipe_events import stream
from simpipe_metrics_collector.api import MetricsCollectorApi
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.collector import MetricsCollector
from simpipe_metrics_collector.config import MetricsCollectorSettings
from simpipe_metrics_collector.prometheus import Prometheus
from simpipe_metrics_collector.report_consumer import RunReports, subscribe
from simpipe_metrics_collector.report_store import ReportStore
from simpipe_metrics_collector.watcher import Watcher

# Heap trims at most this often, this long after a request or a report.
TRIM_DELAY_SECONDS = 2.0
SERVICE_NAME = metrics_collector_pb2.DESCRIPTOR.services_by_name["MetricsCollector"].full_name


def main() -> None:
    settings = MetricsCollectorSettings()
    timeout = settings.check_timeout_seconds
    # httpx logs every request at INFO: a line per Prometheus query would
    # drown the service's own log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    event_broker = EventBroker(settings, "metrics-collector", consumers=(stream.REPORTS,))

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        energy = settings.energy_model()
        prometheus = Prometheus(
            settings.prometheus_url, settings.prometheus_timeout_seconds, settings.query_concurrency
        )
        watcher = Watcher(
            settings.argo_watcher_addr, settings.argo_watcher_timeout_seconds, settings
        )
        collector = MetricsCollector(
            watcher, prometheus, settings.namespace, settings.scrape_interval_seconds, energy
        )
        trim = DeferredTrim(TRIM_DELAY_SECONDS)
        # One S3 client for the process: making one costs more than a request;
        # and one that only signs the reports' URLs for their readers' endpoint.
        s3_timeout = settings.prometheus_timeout_seconds
        async with (
            s3_client(settings, s3_timeout) as s3,
            s3_client(settings, s3_timeout, settings.presign_endpoint) as signer,
        ):
            reports = ReportStore(s3, signer, settings.reports_bucket, settings.report_url_seconds)
            api = MetricsCollectorApi(collector, reports, ArtifactSizes(s3), trim)
            subscribe(
                event_broker.broker,
                RunReports(
                    collector, reports, event_broker.publisher,
                    lambda: event_broker.broker.connection.jetstream(),
                    settings.report_settle_seconds, trim,
                ),
                inbox_prefix=event_broker.pull_inbox_prefix,
            )  # fmt: skip
            try:
                async with event_broker.running():
                    yield [
                        GrpcRegistration(
                            SERVICE_NAME,
                            lambda server: (
                                metrics_collector_pb2_grpc.add_MetricsCollectorServicer_to_server(
                                    api, server
                                )
                            ),
                        )
                    ]
            finally:
                trim.cancel()
                await watcher.close()
                await prometheus.close()

    run_service(
        Service(
            name="metrics-collector",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout, connect_options(settings)),
                http_check("prometheus", f"{settings.prometheus_url}/-/ready", timeout),
                s3_check(settings, timeout),
                event_broker.check,
            ],
            starting=[event_broker.ready],
            lifespan=lifespan,
            # Its answers are Prometheus queries and arithmetic, not hops; and
            # after serving 100-step runs it idles closest of all to the
            # 100 MB target (the README's bench table).
            uvloop=False,
        )
    )


if __name__ == "__main__":
    main()
