"""Checks on names that come from outside; ids are checked by simpipe_common.validation."""

import re

from simpipe_common.errors import InvalidInputError
from simpipe_common.validation import caller, dns_label

__all__ = ["caller", "display_name", "dns_label", "slug"]

MAX_DISPLAY_NAME_LENGTH = 200


def display_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH or not name.isprintable():
        raise InvalidInputError(f"name must be 1-{MAX_DISPLAY_NAME_LENGTH} printable characters")
    return name


def slug(name: str) -> str:
    """A DNS-1123 label derived from a display name (for generated ids)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return base or "project"
