from collections.abc import Iterator

import pytest

from simpipe_common.testing import moto_s3


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server, for the collector's pieces that read and write S3."""
    with moto_s3() as endpoint:
        yield endpoint
