from pydantic import Field

from .base_model import BaseModel
from .fragments import ArtifactFields


class CompleteMultipartUpload(BaseModel):
    complete_multipart_upload: "CompleteMultipartUploadCompleteMultipartUpload" = Field(
        alias="completeMultipartUpload"
    )


CompleteMultipartUploadCompleteMultipartUpload = ArtifactFields
