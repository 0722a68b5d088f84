"""Validation of the ids requests carry, before they reach a selector, a URL or
an event subject."""

import re

from simpipe_common import validation
from simpipe_common.errors import InvalidInputError

# A label value (projects are selected by label).
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def dry_run_id(value: str) -> str:
    return validation.dns_label("dry run id", value)


def project_id(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise InvalidInputError(f"invalid project id {value!r}: not a Kubernetes label value")
    return value


node_id = validation.node_id
caller = validation.caller
