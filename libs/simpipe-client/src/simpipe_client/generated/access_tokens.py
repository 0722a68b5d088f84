from pydantic import Field

from .base_model import BaseModel
from .fragments import TokenFields


class AccessTokens(BaseModel):
    access_tokens: list["AccessTokensAccessTokens"] = Field(alias="accessTokens")


AccessTokensAccessTokens = TokenFields
