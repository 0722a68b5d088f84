"""How `simpipe` answers: Rich tables and lines for people (stdout), JSON
for scripts (`--json`), errors as one line on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table


def _width(stream: str) -> int | None:
    """Rich's width for a terminal; piped output is not cut at 80 columns."""
    if getattr(sys, stream).isatty():
        return None
    return int(os.environ.get("COLUMNS", "200"))


out = Console(highlight=False, soft_wrap=True, width=_width("stdout"))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width("stderr"))


def fail(message: str, code: int) -> NoReturn:
    """The one line every error is, on stderr; exits with `code`."""
    err.print(f"simpipe: error: {message}", markup=False)
    raise SystemExit(code)


def emit_json(value: Any) -> None:
    """`value` as JSON on stdout (pydantic models as their GraphQL names)."""
    sys.stdout.write(json.dumps(jsonable(value), indent=2, sort_keys=True) + "\n")


def jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table whose columns ending in a unit or a count are right-aligned."""
    shown = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        numeric = column.split(" ")[-1] in {"s", "cores", "MiB", "bytes", "kWh", "gCO2", "exit"}
        shown.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        shown.add_row(*("-" if cell is None else str(cell) for cell in row))
    return shown


def size(count: float | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


PHASE_STYLE = {
    "Succeeded": "green",
    "Failed": "red",
    "Error": "red",
    "Running": "cyan",
    "Pending": "yellow",
    "Cancelled": "magenta",
}


def phase(name: str) -> str:
    style = PHASE_STYLE.get(name)
    return f"[{style}]{name}[/{style}]" if style else name
