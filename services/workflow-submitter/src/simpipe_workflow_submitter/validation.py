"""Checks on names that come from outside; ids are checked by simpipe_common.validation."""

import re

from simpipe_common.errors import InvalidInputError
from simpipe_common.validation import caller, dns_label

__all__ = ["caller", "display_name", "dns_label", "dns_subdomain", "slug"]

MAX_DISPLAY_NAME_LENGTH = 200
# Kubernetes object names such as a node's: DNS labels joined by dots.
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_SUBDOMAIN_MAX_LENGTH = 253


def display_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH or not name.isprintable():
        raise InvalidInputError(f"name must be 1-{MAX_DISPLAY_NAME_LENGTH} printable characters")
    return name


def slug(name: str) -> str:
    """A DNS-1123 label derived from a display name (for generated ids)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return base or "project"


def dns_subdomain(field: str, value: str) -> str:
    if len(value) > DNS_SUBDOMAIN_MAX_LENGTH or not _DNS_SUBDOMAIN.fullmatch(value):
        raise InvalidInputError(
            f"{field} {value[:80]!r} is not valid: use 1-{DNS_SUBDOMAIN_MAX_LENGTH} lower-case"
            " letters, digits, '-' and '.', each dot-separated part starting and ending with a"
            " letter or digit"
        )
    return value
