from pydantic import Field

from .base_model import BaseModel
from .fragments import RegistryCredentialFields


class RegistryCredentials(BaseModel):
    docker_registry_credentials: list[
        "RegistryCredentialsDockerRegistryCredentials"
    ] = Field(alias="dockerRegistryCredentials")


RegistryCredentialsDockerRegistryCredentials = RegistryCredentialFields
