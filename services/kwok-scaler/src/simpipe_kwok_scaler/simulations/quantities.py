"""Kubernetes quantities ("500m", "1Gi", "2e3") as numbers, for the
scheduler's arithmetic the report repeats (requests over allocatable)."""

import math
import re

_SUFFIXES = {
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0,
    "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}  # fmt: skip
_QUANTITY = re.compile(
    r"([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)"
)


def quantity(text: str) -> float:
    """The value of a quantity; ValueError when it is not one."""
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text[:40]!r}")
    number, exponent, suffix = match.groups()
    value = float(number + (exponent or "")) * _SUFFIXES[suffix or ""]
    if not math.isfinite(value):
        raise ValueError(f"not a finite quantity: {text[:40]!r}")
    return value


def cpu_cores(text: str) -> float:
    try:
        return quantity(text)
    except ValueError:
        return 0.0


def memory_bytes(text: str) -> float:
    try:
        return quantity(text)
    except ValueError:
        return 0.0
