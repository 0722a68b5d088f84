"""Input artifact sizes read from S3 as the collector reads them, on moto's
S3 server: what HEAD answers for an object, a missing key and a missing bucket."""

from collections.abc import Iterator

import pytest

from simpipe_common.s3 import s3_client
from simpipe_common.testing import moto_s3
from simpipe_metrics_collector.artifacts import ArtifactSizes
from simpipe_metrics_collector.config import MetricsCollectorSettings


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


async def test_sizes_of_objects_and_zero_for_what_is_gone(moto_endpoint: str) -> None:
    settings = MetricsCollectorSettings(
        s3_endpoint=moto_endpoint, s3_access_key="key", s3_secret_key="secret"
    )
    async with s3_client(settings, 5) as s3:
        for bucket in ("argo-artifacts", "other-bucket"):
            await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket="argo-artifacts", Key="run-a/in/a.csv", Body=b"x" * 1000)
        await s3.put_object(Bucket="other-bucket", Key="in/b.csv", Body=b"y" * 234)
        asked = [
            ("argo-artifacts", "run-a/in/a.csv"),
            ("other-bucket", "in/b.csv"),
            ("argo-artifacts", "run-a/gone.csv"),
            ("no-such-bucket", "in/c.csv"),
            ("argo-artifacts", "run-a/in/a.csv"),
        ]
        sizes = await ArtifactSizes(s3).sizes(asked)
    assert sizes == {
        ("argo-artifacts", "run-a/in/a.csv"): 1000,
        ("other-bucket", "in/b.csv"): 234,
        ("argo-artifacts", "run-a/gone.csv"): 0,
        ("no-such-bucket", "in/c.csv"): 0,
    }
