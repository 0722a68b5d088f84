"""Operations of the original SIM-PIPE controller for what this installation
does not run: VM `resources` (hardware the original emulated on VMs; here
KWOK's virtual clusters do that), the k3s secret of its VM helpers, and Moose
compliance analysis. The original GUI asks for them on its pages, so each
keeps its name and arguments: queries answer empty (an empty list, null) and
the pages render; mutations are refused with a typed error that says what to
use instead. The caller must be authenticated either way."""

import strawberry

from simpipe_common.errors import InvalidInputError, NotFoundError
from simpipe_gateway.context import GatewayInfo, caller
from simpipe_gateway.errors import from_service_error

NO_VMS = (
    "this installation runs no VM resources; virtual clusters (createVirtualCluster)"
    " simulate hardware instead"
)
NO_MOOSE = "this installation runs no Moose compliance analysis"


@strawberry.type(description="A VM of the original's; never one here (`resources` is empty).")
class Resource:
    id: str
    name: str
    os: str
    cpus: str
    memory: str
    status: str | None


@strawberry.type(description="The original's k3s connection for VM helpers; never one here.")
class K3sClusterSecret:
    token: str
    server_ip: str


@strawberry.input
class CreateResourceInput:
    name: str
    os: str
    cpus: str
    memory: str


@strawberry.type
class NotRunHereQuery:
    @strawberry.field(description="Always empty: VM resources are not run here.")  # type: ignore[untyped-decorator]
    async def resources(self, info: GatewayInfo) -> list[Resource]:
        await caller(info)
        return []

    @strawberry.field(description="Always null: there are no VM helpers here.")  # type: ignore[untyped-decorator]
    async def k3s_cluster_secret(self, info: GatewayInfo) -> K3sClusterSecret | None:
        await caller(info)
        return None

    @strawberry.field(description="Always null: Moose analysis is not run here.")  # type: ignore[untyped-decorator]
    async def get_moose_analysis(
        self,
        info: GatewayInfo,
        artifact_url: str,
        step_started_at: str | None = None,
        save: bool | None = True,
    ) -> str | None:
        await caller(info)
        return None


def _no_resource(resource_id: str) -> Exception:
    return from_service_error(NotFoundError(f"resource {resource_id[:64]!r} not found; {NO_VMS}"))


@strawberry.type
class NotRunHereMutation:
    @strawberry.mutation(description="Refused: VM resources are not run here.")  # type: ignore[untyped-decorator]
    async def create_resource(self, info: GatewayInfo, input: CreateResourceInput) -> Resource:
        await caller(info)
        raise from_service_error(InvalidInputError(NO_VMS))

    @strawberry.mutation(description="NOT_FOUND: there are no VM resources here.")  # type: ignore[untyped-decorator]
    async def delete_resource(self, info: GatewayInfo, resource_id: str) -> bool:
        await caller(info)
        raise _no_resource(resource_id)

    @strawberry.mutation(description="NOT_FOUND: there are no VM resources here.")  # type: ignore[untyped-decorator]
    async def cleanup_stale_resource(self, info: GatewayInfo, resource_id: str) -> bool:
        await caller(info)
        raise _no_resource(resource_id)

    @strawberry.mutation(description="NOT_FOUND: there are no VM resources here.")  # type: ignore[untyped-decorator]
    async def shutdown_resource(self, info: GatewayInfo, resource_id: str) -> bool:
        await caller(info)
        raise _no_resource(resource_id)

    @strawberry.mutation(description="Refused: Moose analysis is not run here.")  # type: ignore[untyped-decorator]
    async def set_moose_report(
        self, info: GatewayInfo, key: str, report: str, bucket_name: str | None = None
    ) -> bool:
        await caller(info)
        raise from_service_error(InvalidInputError(NO_MOOSE))

    @strawberry.mutation(
        description="Stores nothing: there are no VM helpers here, so a value is refused."
    )  # type: ignore[untyped-decorator]
    async def update_k3s_cluster_secret(
        self, info: GatewayInfo, token: str | None = None, server_ip: str | None = None
    ) -> K3sClusterSecret | None:
        await caller(info)
        if token is not None or server_ip is not None:
            raise from_service_error(InvalidInputError(NO_VMS))
        return None
