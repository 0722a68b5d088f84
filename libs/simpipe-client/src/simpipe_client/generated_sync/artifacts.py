from .base_model import BaseModel
from .fragments import ArtifactFields


class Artifacts(BaseModel):
    artifacts: list["ArtifactsArtifacts"]


ArtifactsArtifacts = ArtifactFields
