"""Validation of the ids requests carry, before they reach a selector, a URL or
an event subject."""

import re

from simpipe_common.errors import InvalidInputError

# Like the workflow-submitter: callers are user names or OIDC subjects.
MAX_CALLER_LENGTH = 256
# A DNS-1123 label: what Kubernetes allows as a Workflow name.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Argo node ids are "<workflow name>-<number>": the label's alphabet, but may be longer.
_NODE_ID = re.compile(r"[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?")
# A label value (projects are selected by label).
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def dry_run_id(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise InvalidInputError(
            f"invalid dry run id {value!r}: expected a DNS-1123 label "
            "(lower-case letters, digits and '-', at most 63, starting and ending alphanumeric)"
        )
    return value


def node_id(value: str) -> str:
    if not _NODE_ID.fullmatch(value):
        raise InvalidInputError(
            f"invalid node id {value!r}: expected Argo's '<dry run id>-<number>' "
            "(lower-case letters, digits and '-')"
        )
    return value


def project_id(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise InvalidInputError(f"invalid project id {value!r}: not a Kubernetes label value")
    return value


def caller(value: str) -> str:
    if not value or len(value) > MAX_CALLER_LENGTH or not value.isprintable():
        raise InvalidInputError("the request has no valid caller")
    return value
