from pydantic import Field

from .base_model import BaseModel
from .fragments import VirtualClusterFields


class VirtualClusters(BaseModel):
    virtual_clusters: list["VirtualClustersVirtualClusters"] = Field(
        alias="virtualClusters"
    )


VirtualClustersVirtualClusters = VirtualClusterFields
