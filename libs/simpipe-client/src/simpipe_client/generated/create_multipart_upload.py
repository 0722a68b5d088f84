from pydantic import Field

from .base_model import BaseModel


class CreateMultipartUpload(BaseModel):
    create_multipart_upload: "CreateMultipartUploadCreateMultipartUpload" = Field(
        alias="createMultipartUpload"
    )


class CreateMultipartUploadCreateMultipartUpload(BaseModel):
    bucket_name: str = Field(alias="bucketName")
    key: str
    upload_id: str = Field(alias="uploadId")
