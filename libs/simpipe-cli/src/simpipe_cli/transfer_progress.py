"""A Rich progress bar for a file transfer, on stderr and only for a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from simpipe_cli.output import err


@contextmanager
def transfer_bar(description: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A callback that advances the bar by its bytes; None when stderr is no terminal."""
    if not err.is_terminal:
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda count: progress.advance(task, count)
