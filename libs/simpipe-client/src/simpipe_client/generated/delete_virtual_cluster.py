from pydantic import Field

from .base_model import BaseModel


class DeleteVirtualCluster(BaseModel):
    delete_virtual_cluster: bool = Field(alias="deleteVirtualCluster")
