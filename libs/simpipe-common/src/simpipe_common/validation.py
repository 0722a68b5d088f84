"""Checks on the identifiers every request carries, shared by the services so
they accept and refuse exactly the same things."""

import re

from simpipe_common.errors import InvalidInputError

# Project and dry-run ids become Kubernetes names, label values and NATS
# subject tokens: DNS-1123 labels fit all three.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Callers are user names or OIDC subjects, set by the gateway.
MAX_CALLER_LENGTH = 256


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
