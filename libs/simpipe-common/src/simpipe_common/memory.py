"""Gives the memory a service freed while starting back to the operating system.

Starting a service allocates and frees a lot: modules imported, pydantic and
protobuf schemas built, API clients configured. glibc keeps what was freed in
its heap for later, and returns only the free space at the very top of the
heap on its own; free pages below a live allocation stay resident.
malloc_trim(0) hands every wholly free page back: a service that has
started and served requests stays smaller for good, for a call that is
cheap next to starting.

Only on Linux with glibc (musl and other platforms have no malloc_trim): a
no-op elsewhere.

A service whose requests build large transient data (the metrics-collector:
megabytes of Prometheus JSON per run) frees it after each request, and glibc
keeps that too: `DeferredTrim` trims once shortly after such work.
"""

import asyncio
import ctypes
import os
import sys
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if sys.platform != "linux":
        return None
    try:
        process = ctypes.CDLL(None)  # the symbols already loaded: libc's among them
    except OSError:
        return None
    trim = getattr(process, "malloc_trim", None)
    if trim is None:  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Returns the free heap pages to the OS. True when this platform can (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def resident_mib() -> float | None:
    """This process's resident memory (Linux), for logs."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class DeferredTrim:
    """Trims the heap `delay` seconds after the first `request()` of a burst:
    requests while a trim is pending add nothing, so a busy service trims at
    most once per `delay`, between requests rather than within one: a trim
    hands back what a burst's large answers (a 100-step run's series) left
    free, and costs little next to the requests it follows."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._pending: asyncio.TimerHandle | None = None
        self.trims = 0

    def request(self) -> None:
        """From the event loop's thread, once some large work has finished."""
        if self._pending is not None or _malloc_trim() is None:
            return
        self._pending = asyncio.get_running_loop().call_later(self._delay, self._trim)

    def _trim(self) -> None:
        self._pending = None
        if release_free_memory():
            self.trims += 1

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
