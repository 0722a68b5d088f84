from pydantic import Field

from .base_model import BaseModel


class AbortMultipartUpload(BaseModel):
    abort_multipart_upload: bool = Field(alias="abortMultipartUpload")
