from .base_model import BaseModel


class Buckets(BaseModel):
    buckets: list["BucketsBuckets"]


class BucketsBuckets(BaseModel):
    name: str
    reserved: bool
