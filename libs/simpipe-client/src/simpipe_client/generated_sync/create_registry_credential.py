from pydantic import Field

from .base_model import BaseModel
from .fragments import RegistryCredentialFields


class CreateRegistryCredential(BaseModel):
    create_docker_registry_credential: "CreateRegistryCredentialCreateDockerRegistryCredential" = Field(
        alias="createDockerRegistryCredential"
    )


CreateRegistryCredentialCreateDockerRegistryCredential = RegistryCredentialFields
