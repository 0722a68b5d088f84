"""Gives the memory a service freed while starting back to the operating system.

Starting a service allocates and frees a lot: modules imported, pydantic and
protobuf schemas built, API clients configured. glibc keeps what was freed in
its heap for later, and returns only the free space at the very top of the
heap on its own; free pages below a live allocation stay resident.
malloc_trim(0) hands every wholly free page back. Measured once the
workflow-submitter had started and then served requests: 111 MiB resident
without the trim, 100 MiB with it; the call took about 1 ms.

Only on Linux with glibc (musl and other platforms have no malloc_trim): a
no-op elsewhere.
"""

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
