from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class ArtifactMetadata(BaseModel):
    artifact: Optional["ArtifactMetadataArtifact"]


class ArtifactMetadataArtifact(BaseModel):
    etag: str
    last_modified: Optional[str] = Field(alias="lastModified")
    size: float
