from pydantic import Field

from .base_model import BaseModel


class DeleteRegistryCredential(BaseModel):
    delete_docker_registry_credential: bool = Field(
        alias="deleteDockerRegistryCredential"
    )
