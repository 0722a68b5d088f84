import grpc
import pytest
from botocore.exceptions import ClientError

from simpipe_common.s3_errors import client_error


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("NoSuchBucket", grpc.StatusCode.NOT_FOUND, "not-found"),
        ("404", grpc.StatusCode.NOT_FOUND, "not-found"),
        ("BucketAlreadyOwnedByYou", grpc.StatusCode.ALREADY_EXISTS, "conflict"),
        ("BucketNotEmpty", grpc.StatusCode.FAILED_PRECONDITION, "bucket-not-empty"),
        ("InvalidPart", grpc.StatusCode.INVALID_ARGUMENT, "input-validation"),
        ("SlowDown", grpc.StatusCode.UNAVAILABLE, "unavailable"),
        ("AccessDenied", grpc.StatusCode.INTERNAL, "internal"),
    ],
)
def test_s3_error_codes_become_typed_errors(
    code: str, status: grpc.StatusCode, reason: str
) -> None:
    error = client_error(ClientError({"Error": {"Code": code, "Message": "m"}}, "Op"), "bucket 'b'")
    assert (error.code, error.reason) == (status, reason)
