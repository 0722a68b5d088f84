"""Fixtures the benchmarks share (beside tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from simpipe_common.s3 import s3_client
from simpipe_common.settings import S3Settings
from simpipe_devstack.stack import Stack

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


@pytest.fixture
async def s3(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[S3Client]:
    """The stack's S3 (MinIO) as its admin, through aioboto3: the raw component."""
    settings = S3Settings(
        s3_endpoint=endpoints["s3"],
        s3_access_key=stack.secrets.s3_access_key,
        s3_secret_key=SecretStr(stack.secrets.s3_secret_key),
    )
    async with s3_client(settings, timeout=120) as client:
        yield client
