from pydantic import Field

from .base_model import BaseModel
from .fragments import VirtualClusterFields


class CreateVirtualCluster(BaseModel):
    create_virtual_cluster: "CreateVirtualClusterCreateVirtualCluster" = Field(
        alias="createVirtualCluster"
    )


CreateVirtualClusterCreateVirtualCluster = VirtualClusterFields
