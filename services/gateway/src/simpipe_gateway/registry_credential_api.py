"""GraphQL queries and mutations on a user's container registry logins, with
the original SIM-PIPE controller API's names and shapes, over the
workflow-submitter (which keeps them as Secrets where the user's runs on
real nodes run, and names them all as those runs' imagePullSecrets).

Write-only: a password goes in with a create or update and never comes
back; DockerRegistryCredential has no field for it."""

import strawberry

from simpipe.v1 import workflow_submitter_pb2 as pb
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import rpc


@strawberry.type(
    description="A container registry login of the caller's, without its password (never"
    " answered). Every dry run of theirs on the real nodes pulls its images with all of them."
)
class DockerRegistryCredential:
    name: str = strawberry.field(description="The caller's name for it, unique among theirs.")
    username: str
    server: str = strawberry.field(
        description="The registry, as docker login takes it: host[:port], optionally with a"
        " scheme and path."
    )


@strawberry.input(description="A registry login to store; its password is never answered.")
class DockerRegistryCredentialInput:
    name: str = strawberry.field(
        description="Lower-case letters, digits, '-' and '.' (a DNS-1123 subdomain), at most 63"
        " characters; an update names the credential it replaces."
    )
    username: str = strawberry.field(description="Printable, without ':'.")
    password: str = strawberry.field(description="Or an access token; printable, stored only.")
    server: str = strawberry.field(
        description='e.g. "ghcr.io", "registry.example.org:5000", "https://index.docker.io/v1/".'
    )

    def __repr__(self) -> str:
        # Never in a log line or a traceback.
        return f"DockerRegistryCredentialInput(name={self.name!r}, server={self.server!r})"


def _credential(message: pb.RegistryCredential) -> DockerRegistryCredential:
    return DockerRegistryCredential(
        name=message.name, username=message.username, server=message.server
    )


async def _request(
    info: GatewayInfo, credential: DockerRegistryCredentialInput
) -> pb.RegistryCredentialRequest:
    return pb.RegistryCredentialRequest(
        caller=await caller(info),
        name=credential.name,
        server=credential.server,
        username=credential.username,
        password=credential.password,
    )


@strawberry.type
class RegistryCredentialQuery:
    @strawberry.field(description="The caller's registry credentials, by name (no passwords).")  # type: ignore[untyped-decorator]
    async def docker_registry_credentials(
        self, info: GatewayInfo
    ) -> list[DockerRegistryCredential]:
        found = await rpc(
            gateway(info).submitter.ListRegistryCredentials,
            pb.ListRegistryCredentialsRequest(caller=await caller(info)),
        )
        return [_credential(c) for c in found.credentials]


@strawberry.type
class RegistryCredentialMutation:
    @strawberry.mutation(
        description="Stores a new registry credential; CONFLICT_ERROR when the caller has one of"
        " that name. A user keeps a bounded number of them."
    )  # type: ignore[untyped-decorator]
    async def create_docker_registry_credential(
        self, info: GatewayInfo, credential: DockerRegistryCredentialInput
    ) -> DockerRegistryCredential:
        submitter = gateway(info).submitter
        created = await rpc(submitter.CreateRegistryCredential, await _request(info, credential))
        return _credential(created)

    @strawberry.mutation(
        description="Replaces the server, username and password of the caller's credential of"
        " that name; NOT_FOUND_ERROR when there is none."
    )  # type: ignore[untyped-decorator]
    async def update_docker_registry_credential(
        self, info: GatewayInfo, credential: DockerRegistryCredentialInput
    ) -> DockerRegistryCredential:
        submitter = gateway(info).submitter
        updated = await rpc(submitter.UpdateRegistryCredential, await _request(info, credential))
        return _credential(updated)

    @strawberry.mutation(
        description="Deletes the caller's credential of that name; NOT_FOUND_ERROR when there is"
        " none. Dry runs made before keep naming it, and pull without it."
    )  # type: ignore[untyped-decorator]
    async def delete_docker_registry_credential(self, info: GatewayInfo, name: str) -> bool:
        done = await rpc(
            gateway(info).submitter.DeleteRegistryCredential,
            pb.RegistryCredentialRef(caller=await caller(info), name=name),
        )
        return done.deleted
