"""Checks on the identifiers every request carries, shared by the services so
they accept and refuse exactly the same things.

Object keys become paths wherever files are moved (the AWS CLI's sync, SFTP,
the artifacts Argo unpacks into a step's container), so besides S3's own
limits they are held to what is safe as a relative path on any file system:
no absolute paths, no `.` or `..` segments, no control or invisible characters.
"""

import re
import unicodedata

from simpipe_common.errors import InvalidInputError

# Project and dry-run ids become Kubernetes names, label values and NATS
# subject tokens: DNS-1123 labels fit all three.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_LABEL_MAX_LENGTH = 63
# Argo node ids are "<workflow name>-<number>": a DNS label's alphabet, but
# as long as a Kubernetes name (253).
MAX_NODE_ID_LENGTH = 253
# Callers are user names or OIDC subjects, set by the gateway.
MAX_CALLER_LENGTH = 256


def dns_label(field: str, value: str, max_length: int = DNS_LABEL_MAX_LENGTH) -> str:
    """A DNS-1123 label's alphabet; `max_length` lets names built from one
    (Argo's node ids: "<dry run id>-<number>") be longer than a label."""
    if len(value) > max_length or not _DNS_LABEL.fullmatch(value):
        raise InvalidInputError(
            f"{field} {value[:80]!r} is not valid: use 1-{max_length} lower-case letters,"
            " digits and '-', starting and ending with a letter or digit"
        )
    return value


def node_id(value: str) -> str:
    return dns_label("node id", value, MAX_NODE_ID_LENGTH)


def caller(value: str) -> str:
    if not value or len(value) > MAX_CALLER_LENGTH or not value.isprintable():
        raise InvalidInputError("the request has no valid caller")
    return value


# S3's limit, in bytes of UTF-8.
MAX_KEY_BYTES = 1024
# Besides letters and digits of any script: AWS's "safe" characters and those
# it says are fine with URL encoding, but no '\', '{', '}', '^', '%', '`',
# '[', ']', '"', '<', '>', '#', '|', '~' or '?' (shell-, URL- or
# path-unsafe on some client or file system).
KEY_PUNCTUATION = frozenset("!-_.*'()/ &$@=;:+,")

# S3's rules for new buckets: 3-63 lower-case letters, digits, '-' and '.',
# starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_BUCKET_RESERVED_AFFIXES = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", "--x-s3"))


def bucket_name(value: str, field: str = "bucket") -> str:
    problem = None
    if not _BUCKET.fullmatch(value):
        problem = (
            "use 3-63 lower-case letters, digits, '-' and '.', starting and ending with"
            " a letter or digit"
        )
    elif ".." in value or ".-" in value or "-." in value:
        problem = "'.' may not be next to another '.' or a '-'"
    elif _IP_ADDRESS.fullmatch(value):
        problem = "it may not look like an IP address"
    elif value.startswith(_BUCKET_RESERVED_AFFIXES[0]) or value.endswith(
        _BUCKET_RESERVED_AFFIXES[1]
    ):
        problem = "S3 reserves that prefix or suffix"
    if problem:
        raise InvalidInputError(f"{field} name {value[:80]!r} is not valid: {problem}")
    return value


def key(value: str, field: str = "key") -> str:
    """A valid object key; a trailing '/' (a folder marker) is allowed."""
    shown = repr(value[:80]) + ("..." if len(value) > 80 else "")

    def invalid(problem: str) -> InvalidInputError:
        return InvalidInputError(f"{field} {shown} is not valid: {problem}")

    if not value:
        raise InvalidInputError(f"{field} must not be empty")
    if len(value.encode()) > MAX_KEY_BYTES:
        raise invalid(f"longer than {MAX_KEY_BYTES} bytes of UTF-8")
    if value.startswith("/"):
        raise invalid("it must be relative (no leading '/')")
    for char in value:
        if unicodedata.category(char)[0] == "C":
            raise invalid(f"control or invisible character U+{ord(char):04X}")
        if not (char.isalnum() or char in KEY_PUNCTUATION):
            raise invalid(f"character {char!r} is not allowed")
    segments = value.removesuffix("/").split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise invalid("empty, '.' and '..' path segments are not allowed")
    return value
