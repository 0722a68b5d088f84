from pydantic import Field

from .base_model import BaseModel
from .fragments import TokenFields


class CreateAccessToken(BaseModel):
    create_access_token: "CreateAccessTokenCreateAccessToken" = Field(
        alias="createAccessToken"
    )


class CreateAccessTokenCreateAccessToken(BaseModel):
    token: str
    access_token: "CreateAccessTokenCreateAccessTokenAccessToken" = Field(
        alias="accessToken"
    )


CreateAccessTokenCreateAccessTokenAccessToken = TokenFields
