"""Whose storage is whose: every request of the broker lands in a Place, the
caller's own part of S3, or is refused before it reaches S3.

- A bucket made through the broker belongs to its caller: S3 bucket tag
  OWNER_TAG holds the owner's hash (simpipe_common.ownership.owner_hash), so
  ownership lives and dies with the bucket, on any S3. Other owners'
  buckets, and buckets made past the broker (no tag), are not there for a
  caller.
- Two buckets are shared and split by owner prefix `<owner hash>/`, which
  callers never see nor name: the upload bucket (files in and out) and
  Argo's artifact bucket (what runs wrote; read-only here, the project's
  credentials write it).
- The other reserved buckets (run reports) are not there for callers; the
  services that own them hand out their own URLs.

What is not there for a caller is NOT_FOUND, as for a name nobody uses, so
nobody learns what others have. Creating, deleting or writing a reserved
bucket is PERMISSION_DENIED: their names are documented, that tells nothing.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from simpipe_common.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from simpipe_common.ownership import owner_hash
from simpipe_common.s3_errors import s3_errors
from simpipe_common.validation import MAX_KEY_BYTES
from simpipe_storage_broker import validation

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

OWNER_TAG = "simpipe-owner"
# Bucket tag look-ups in flight at once when listing a caller's buckets.
TAG_LOOKUPS = 16


@dataclass(frozen=True)
class Place:
    """Where a caller's keys live: a bucket, and the caller's prefix in it
    ("" in a bucket of their own)."""

    bucket: str
    prefix: str

    def stored(self, key: str) -> str:
        """The S3 key of the caller's `key`, within S3's length."""
        stored = self.prefix + key
        if len(stored.encode()) > MAX_KEY_BYTES:
            raise InvalidInputError(
                f"key is longer than {MAX_KEY_BYTES - len(self.prefix)} bytes of UTF-8, what"
                f" bucket {self.bucket!r} leaves after its owner's prefix"
            )
        return stored

    def view(self, stored_key: str) -> str:
        """The caller's view of an S3 key of this place."""
        return stored_key.removeprefix(self.prefix)

    def holds(self, stored_key: str) -> bool:
        return stored_key.startswith(self.prefix)


def reserved_bucket(bucket: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"bucket {bucket!r} is reserved for SIM-PIPE itself: it cannot be"
        " created, deleted or written through the API",
        reason="reserved-bucket",
    )


def not_found(bucket: str) -> NotFoundError:
    return NotFoundError(f"bucket {bucket!r} not found")


@dataclass
class Ownership:
    s3: "S3Client"
    upload_bucket: str
    artifact_bucket: str
    # The system's own buckets (SIMPIPE_RESERVED_BUCKETS); the two shared
    # ones count as reserved whether named there or not.
    reserved_buckets: frozenset[str]

    def is_reserved(self, bucket: str) -> bool:
        return bucket in self.reserved_buckets or bucket in (
            self.upload_bucket,
            self.artifact_bucket,
        )

    def shared_prefix(self, caller: str) -> str:
        return f"{owner_hash(caller)}/"

    async def place(self, caller: str, bucket: str, write: bool) -> Place:
        """The caller's part of `bucket`, for reading or writing objects."""
        validation.bucket_name(bucket)
        if bucket == self.upload_bucket:
            return Place(bucket, self.shared_prefix(caller))
        if bucket in self.reserved_buckets or bucket == self.artifact_bucket:
            if write:
                raise reserved_bucket(bucket)
            if bucket == self.artifact_bucket:
                return Place(bucket, self.shared_prefix(caller))
            raise not_found(bucket)
        await self.owned(caller, bucket)
        return Place(bucket, "")

    async def owned(self, caller: str, bucket: str) -> None:
        """Passes for a bucket of the caller's; NOT_FOUND otherwise."""
        if await self.owner_of(bucket) != owner_hash(caller):
            raise not_found(bucket)

    async def owner_of(self, bucket: str) -> str:
        """The owner hash a bucket is tagged with: "" for none, and on
        MinIO for a bucket that does not exist (it answers NoSuchTagSet);
        other S3s answer NOT_FOUND then. Either way it is not the caller's."""
        with s3_errors(f"bucket {bucket!r}"):
            try:
                tagging = await self.s3.get_bucket_tagging(Bucket=bucket)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "NoSuchTagSet":
                    return ""
                raise
        return next((t["Value"] for t in tagging.get("TagSet", []) if t["Key"] == OWNER_TAG), "")

    async def claim(self, caller: str, bucket: str) -> None:
        """Tag a bucket just made as the caller's."""
        with s3_errors(f"bucket {bucket!r}"):
            await self.s3.put_bucket_tagging(
                Bucket=bucket,
                Tagging={"TagSet": [{"Key": OWNER_TAG, "Value": owner_hash(caller)}]},
            )

    async def owned_buckets(self, caller: str) -> list[tuple[str, datetime | None]]:
        """(name, creation time) of the caller's buckets, by name. Each
        bucket's tag is asked for every time: S3 gives a bucket no identity
        beyond its name and a creation time in seconds, so a remembered owner
        could be that of a bucket deleted and made again by someone else."""
        with s3_errors("buckets"):
            listed = (await self.s3.list_buckets()).get("Buckets", [])
        candidates = [
            (b["Name"], b.get("CreationDate")) for b in listed if not self.is_reserved(b["Name"])
        ]
        slots = asyncio.Semaphore(TAG_LOOKUPS)

        async def owner(bucket: str) -> str:
            async with slots:
                try:
                    return await self.owner_of(bucket)
                except NotFoundError:
                    return ""  # deleted since it was listed

        owners = await asyncio.gather(*(owner(name) for name, _ in candidates))
        mine = owner_hash(caller)
        return sorted(c for c, o in zip(candidates, owners, strict=True) if o == mine)
