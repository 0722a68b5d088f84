from pydantic import Field

from .base_model import BaseModel


class UploadUrl(BaseModel):
    compute_upload_presigned_url: str = Field(alias="computeUploadPresignedUrl")
