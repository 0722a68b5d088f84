import asyncio
import sys

import pytest

from simpipe_common.memory import DeferredTrim, release_free_memory, resident_mib


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, trims glibc's heap")
def test_freed_heap_pages_go_back_to_the_os() -> None:
    # What earlier tests freed (e.g. while importing a large package) would
    # otherwise serve the blocks below without the heap growing.
    release_free_memory()
    before = resident_mib()
    assert before is not None
    assert before > 0
    # 64 MiB in small blocks (below glibc's mmap threshold: they come from the
    # heap), all freed but the last, which keeps the heap's top in use.
    blocks = [bytearray(64 * 1024) for _ in range(1024)]
    keep = blocks[-1]
    grown = resident_mib()
    assert grown is not None
    assert grown > before + 32
    del blocks
    assert release_free_memory()  # this test runs on glibc
    after = resident_mib()
    assert after is not None
    assert after < grown - 32
    assert keep


@pytest.mark.skipif(sys.platform != "linux", reason="trims glibc's heap")
async def test_a_burst_of_requests_trims_once_after_the_delay() -> None:
    trim = DeferredTrim(0.05)
    for _ in range(10):
        trim.request()
    assert trim.trims == 0  # never within the request
    await trims_reach(trim, 1)
    assert trim.trims == 1  # once for the whole burst
    trim.request()
    await trims_reach(trim, 2)
    assert trim.trims == 2


async def trims_reach(trim: DeferredTrim, count: int) -> None:
    """Waits for the trim to have run `count` times, however slow the machine."""
    for _ in range(1000):  # 10 s at most
        if trim.trims >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{trim.trims} trims after 10 s, expected {count}")


async def test_a_cancelled_trim_does_not_run() -> None:
    trim = DeferredTrim(0.05)
    trim.request()
    trim.cancel()
    await asyncio.sleep(0.2)
    assert trim.trims == 0
