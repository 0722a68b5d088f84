"""S3's failures as the mesh's typed errors, so callers see NOT_FOUND or
ALREADY_EXISTS rather than an internal error, whichever S3 answered
(install simpipe-common[s3]). Used by every service that talks to S3: the
storage-broker, and the metrics-collector's report store and input sizes."""

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from simpipe_common.errors import (
    ConflictError,
    FailedPreconditionError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)

log = structlog.get_logger(__name__)

# S3 error codes (and the bare HTTP statuses HEAD requests answer with).
_NOT_FOUND = {"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NotFound", "404"}
_CONFLICT = {"BucketAlreadyExists", "BucketAlreadyOwnedByYou"}
_INVALID = {
    "InvalidPart",
    "InvalidPartOrder",
    "EntityTooSmall",
    "InvalidArgument",
    "InvalidRequest",
}
_UNAVAILABLE = {"SlowDown", "ServiceUnavailable", "503", "XMinioServerNotInitialized"}


def client_error(error: ClientError, what: str) -> ServiceError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")) or code
    if code in _NOT_FOUND:
        return NotFoundError(f"{what} not found")
    if code in _CONFLICT:
        return ConflictError(f"{what} already exists")
    if code == "BucketNotEmpty":
        return FailedPreconditionError(f"{what} is not empty", reason="bucket-not-empty")
    if code in _INVALID:
        return InvalidInputError(f"{what}: {message}")
    if code in _UNAVAILABLE:
        return UnavailableError(f"S3 is unavailable: {message}")
    log.error("s3 request failed", what=what, code=code, message=message)
    return ServiceError(f"S3 refused the request on {what} ({code})")


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Within: S3's answers become typed errors about `what` (e.g. "bucket 'x'")."""
    try:
        yield
    except ClientError as error:
        raise client_error(error, what) from error
    except (ConnectionError, HTTPClientError) as error:
        raise UnavailableError(f"S3 cannot be reached: {error}") from error
    except BotoCoreError as error:
        log.error("s3 client failed", what=what, error=repr(error))
        raise ServiceError(f"S3 client failed on {what}") from error
