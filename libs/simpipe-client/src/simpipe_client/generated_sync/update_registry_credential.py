from pydantic import Field

from .base_model import BaseModel
from .fragments import RegistryCredentialFields


class UpdateRegistryCredential(BaseModel):
    update_docker_registry_credential: "UpdateRegistryCredentialUpdateDockerRegistryCredential" = Field(
        alias="updateDockerRegistryCredential"
    )


UpdateRegistryCredentialUpdateDockerRegistryCredential = RegistryCredentialFields
