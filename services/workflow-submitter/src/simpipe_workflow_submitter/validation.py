"""Checks on identifiers and names that come from outside."""

import re

from simpipe_common.errors import InvalidInputError

# Project and dry-run ids become Kubernetes names, label values and NATS
# subject tokens: DNS-1123 labels fit all three.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_CALLER_LENGTH = 256
MAX_DISPLAY_NAME_LENGTH = 200


def dns_label(field: str, value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise InvalidInputError(
            f"{field} {value[:80]!r} is not valid: use 1-63 lower-case letters, digits and '-',"
            " starting and ending with a letter or digit"
        )
    return value


def caller(value: str) -> str:
    if not value or len(value) > MAX_CALLER_LENGTH or not value.isprintable():
        raise InvalidInputError("the request has no valid caller")
    return value


def display_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH or not name.isprintable():
        raise InvalidInputError(f"name must be 1-{MAX_DISPLAY_NAME_LENGTH} printable characters")
    return name


def slug(name: str) -> str:
    """A DNS-1123 label derived from a display name (for generated ids)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return base or "project"
