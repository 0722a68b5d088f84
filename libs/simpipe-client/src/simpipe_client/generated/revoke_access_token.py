from pydantic import Field

from .base_model import BaseModel


class RevokeAccessToken(BaseModel):
    revoke_access_token: bool = Field(alias="revokeAccessToken")
