"""The S3 session's loader: only S3's data kept, clients unchanged."""

from typing import Any

from pydantic import SecretStr

from simpipe_common.s3 import S3OnlyLoader, _session, s3_client
from simpipe_common.settings import S3Settings


def _documented(node: Any) -> int:
    """How many non-empty documentation texts the model holds."""
    if isinstance(node, dict):
        own = sum(1 for key in ("documentation", "documentationUrl") if node.get(key))
        return own + sum(_documented(value) for value in node.values())
    if isinstance(node, list):
        return sum(_documented(value) for value in node)
    return 0


def test_endpoints_keep_every_partition_with_only_its_s3_entry() -> None:
    endpoints, _ = S3OnlyLoader().load_data_with_path("endpoints")
    partitions = endpoints["partitions"]
    assert {p["partition"] for p in partitions} >= {"aws", "aws-cn", "aws-us-gov"}
    for partition in partitions:
        assert set(partition["services"]) <= {"s3"}
        assert partition["regions"]  # the partition's own data stays
    aws = next(p for p in partitions if p["partition"] == "aws")
    assert "us-east-1" in aws["services"]["s3"]["endpoints"]


def test_the_s3_model_keeps_its_operations_without_documentation() -> None:
    model = S3OnlyLoader().load_service_model("s3", "service-2")
    assert {"GetObject", "PutObject", "ListObjectsV2"} <= set(model["operations"])
    assert "documentation" in model["operations"]["GetObject"]  # botocore reads some keys
    assert _documented(model) == 0


def test_other_data_is_untouched() -> None:
    retry, _ = S3OnlyLoader().load_data_with_path("_retry")
    assert "definitions" in retry


async def test_the_shared_session_loads_through_it_and_its_clients_presign() -> None:
    loader = _session()._session.get_component("data_loader")
    assert isinstance(loader, S3OnlyLoader)
    settings = S3Settings(
        s3_endpoint="http://127.0.0.1:9", s3_access_key="a", s3_secret_key=SecretStr("b")
    )
    async with s3_client(settings, 1) as s3:
        url = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bucket", "Key": "a/b.txt"}, ExpiresIn=60
        )
    assert url.startswith("http://127.0.0.1:9/bucket/a/b.txt?")
    assert "X-Amz-Signature=" in url
