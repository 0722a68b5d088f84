from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from simpipe.v1 import storage_broker_pb2, storage_broker_pb2_grpc
from simpipe_common.checks import nats_check
from simpipe_common.event_broker import EventBroker
from simpipe_common.grpc_server import GrpcRegistration
from simpipe_common.nats_auth import connect_options
from simpipe_common.origins import parse_origins
from simpipe_common.runner import Service, run_service
from simpipe_common.s3 import s3_check, s3_client
from simpipe_storage_broker.api import StorageBrokerApi
from simpipe_storage_broker.config import StorageBrokerSettings
from simpipe_storage_broker.minio_accounts import MinioServiceAccounts, minio_admin
from simpipe_storage_broker.object_events import ObjectEvents
from simpipe_storage_broker.ownership import Ownership
from simpipe_storage_broker.presigner import Presigner
from simpipe_storage_broker.project_credentials import (
    CredentialIssuer,
    NoCredentialIssuer,
    ProjectCredentials,
)
from simpipe_storage_broker.storage import Storage

SERVICE_NAME = storage_broker_pb2.DESCRIPTOR.services_by_name["StorageBroker"].full_name


def credential_issuer(settings: StorageBrokerSettings) -> CredentialIssuer:
    if settings.project_credentials == "none":
        return NoCredentialIssuer()
    secret = settings.s3_secret_key.get_secret_value()
    return MinioServiceAccounts(
        admin=minio_admin(settings, settings.s3_timeout_seconds),
        parent=settings.s3_access_key,
        secret_seed=secret.encode(),
    )


def main() -> None:
    settings = StorageBrokerSettings()
    timeout = settings.check_timeout_seconds
    event_broker = EventBroker(settings, "storage-broker")

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Sequence[GrpcRegistration]]:
        async with AsyncExitStack() as stack:
            s3 = await stack.enter_async_context(s3_client(settings, settings.s3_timeout_seconds))
            # Only signs (no requests): the endpoint in the URLs it makes is
            # the one clients reach.
            signer = await stack.enter_async_context(
                s3_client(settings, settings.s3_timeout_seconds, settings.presign_endpoint)
            )
            await stack.enter_async_context(event_broker.running())
            ownership = Ownership(
                s3=s3,
                upload_bucket=settings.default_bucket,
                artifact_bucket=settings.artifact_bucket,
                reserved_buckets=settings.reserved_buckets,
            )
            storage = Storage(
                s3=s3,
                presigner=Presigner(
                    signer, settings.presign_default_ttl_seconds, settings.presign_max_ttl_seconds
                ),
                events=ObjectEvents(event_broker.publisher),
                ownership=ownership,
                region=settings.s3_region,
                cors_origins=parse_origins(settings.cors_allowed_origins),
            )
            api = StorageBrokerApi(
                storage, ProjectCredentials(ownership, credential_issuer(settings))
            )
            yield [
                GrpcRegistration(
                    SERVICE_NAME,
                    lambda server: storage_broker_pb2_grpc.add_StorageBrokerServicer_to_server(
                        api, server
                    ),
                )
            ]

    run_service(
        Service(
            name="storage-broker",
            settings=settings,
            dependencies=[
                nats_check(settings.nats_url, timeout, connect_options(settings)),
                s3_check(settings, timeout),
                event_broker.check,
            ],
            starting=[event_broker.ready],
            lifespan=lifespan,
        )
    )


if __name__ == "__main__":
    main()
