from pydantic import Field

from .base_model import BaseModel


class UploadPartUrls(BaseModel):
    upload_part_urls: list["UploadPartUrlsUploadPartUrls"] = Field(
        alias="uploadPartUrls"
    )


class UploadPartUrlsUploadPartUrls(BaseModel):
    part_number: int = Field(alias="partNumber")
    url: str
