import sys

import pytest

from simpipe_common.memory import release_free_memory, resident_mib


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, trims glibc's heap")
def test_freed_heap_pages_go_back_to_the_os() -> None:
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
