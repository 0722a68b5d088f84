from .base_model import BaseModel


class Whoami(BaseModel):
    username: str
