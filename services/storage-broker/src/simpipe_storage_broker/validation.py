"""Checks on what the broker's requests carry before anything reaches S3:
bucket names and keys by simpipe_common.validation's rules, which the
workflow-submitter applies to dry runs' input files too."""

from simpipe_common.errors import InvalidInputError
from simpipe_common.validation import bucket_name, caller, key

__all__ = ["bucket_name", "caller", "key", "part_number"]

MAX_PART_NUMBER = 10_000


def part_number(value: int) -> int:
    if not 1 <= value <= MAX_PART_NUMBER:
        raise InvalidInputError(f"part_number must be 1-{MAX_PART_NUMBER}, not {value}")
    return value
