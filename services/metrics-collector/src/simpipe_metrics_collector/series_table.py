"""A report's series as a Parquet file: one long table (node, metric, time,
value) for dataframes and query engines.

Written by a short-lived child process (`python -m` this module): pyarrow's
memory stays with the process that imports it for good, and the collector
writes a report a few times a minute at most while it serves series all the
time. The parent sends the series as MessagePack on stdin and reads the file
on stdout; the child imports pyarrow, writes, and exits.
"""

import asyncio
import contextlib
import math
import sys
from collections.abc import Sequence

import msgspec

from simpipe_common.errors import ServiceError

# Bounds one report's child process; a larger run is still well within it.
WRITE_TIMEOUT_SECONDS = 120.0
COLUMNS = ("node_id", "display_name", "pod_name", "metric", "timestamp", "value")


class SeriesRows(msgspec.Struct, array_like=True):
    """One step's series of one metric: a row per sample in the table."""

    node_id: str
    display_name: str
    pod_name: str
    metric: str
    timestamps: Sequence[float]
    # As Prometheus wrote them; stored as float64 (NaN where not a number).
    values: Sequence[str]


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return math.nan


def parquet_bytes(series: Sequence[SeriesRows]) -> bytes:
    """The table as Parquet (zstd); imports pyarrow, so: in the child."""
    # The child's imports, kept out of the service.
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    text: dict[str, list[str]] = {name: [] for name in COLUMNS[:4]}
    millis: list[int] = []
    values: list[float] = []
    for found in series:
        count = len(found.timestamps)
        text["node_id"] += [found.node_id] * count
        text["display_name"] += [found.display_name] * count
        text["pod_name"] += [found.pod_name] * count
        text["metric"] += [found.metric] * count
        millis += [round(t * 1000) for t in found.timestamps]
        values += [_number(v) for v in found.values]
    table = pa.table(
        {
            **{name: pa.array(column, pa.string()) for name, column in text.items()},
            "timestamp": pa.array(millis, pa.timestamp("ms", tz="UTC")),
            "value": pa.array(values, pa.float64()),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


async def write_parquet(series: Sequence[SeriesRows]) -> bytes:
    """The Parquet file of `series`, from a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
            written, errors = await child.communicate(msgspec.msgpack.encode(series))
    except TimeoutError:
        raise ServiceError(
            f"writing a report's Parquet file took over {WRITE_TIMEOUT_SECONDS:.0f} s"
        ) from None
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    if child.returncode != 0:
        reason = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise ServiceError(f"writing a report's Parquet file failed: {reason[0]}")
    return written


def main() -> None:
    series = msgspec.msgpack.decode(sys.stdin.buffer.read(), type=list[SeriesRows])
    sys.stdout.buffer.write(parquet_bytes(series))


if __name__ == "__main__":
    main()
