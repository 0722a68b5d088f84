"""A simulation's report: the replayed timeline as a SimulationReport, and
its durable copy in S3 (JSON, plus the steps as a Parquet table), under the
owner: `simulations/<owner hash>/<simulation id>/`. The owner in the key
scopes reading, as the run reports' keys do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.energy import EnergyModel
from simpipe_common.errors import ServiceError
from simpipe_common.ownership import owner_hash
from simpipe_common.s3_errors import s3_errors
from simpipe_kwok_scaler.simulations.replay import Timeline

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

JSON_NAME = "report.json"
PARQUET_NAME = "steps.parquet"
WRITE_TIMEOUT_SECONDS = 120.0
COLUMNS = (
    "copy", "dry_run_id", "node_id", "display_name", "template_name", "node_name", "pool",
    "phase", "queued_seconds", "run_seconds", "started_seconds", "finished_seconds",
    "cpu_cores", "memory_bytes",
)  # fmt: skip


def keys(owner: str, simulation_id: str) -> tuple[str, str]:
    base = f"simulations/{owner_hash(owner)}/{simulation_id}/"
    return base + JSON_NAME, base + PARQUET_NAME


def build(
    simulation: pb.Simulation,
    timeline: Timeline,
    figures: Mapping[str, pb.StepFigures],
    time_scale: float,
    energy: EnergyModel,
) -> pb.SimulationReport:
    report = pb.SimulationReport(
        simulation_id=simulation.id,
        phase=simulation.phase,
        makespan_seconds=timeline.makespan,
        orchestration_overhead_seconds=timeline.overhead,
        peak_pods_pending=timeline.peak_pending,
        time_scale=time_scale,
    )
    report.created_at.FromDatetime(datetime.now(UTC))
    cpu_seconds = memory_byte_seconds = 0.0
    for step in sorted(timeline.steps, key=lambda s: (s.copy, s.ready, s.pod.name)):
        pod = step.pod
        figure = figures.get(pod.template)
        cpu = figure.cpu_cores if figure is not None else 0.0
        memory = figure.memory_bytes if figure is not None else 0.0
        report.steps.append(
            pb.SimulatedStep(
                copy=step.copy, dry_run_id=pod.workflow, node_id=pod.node_id,
                display_name=pod.display_name, template_name=pod.template,
                node_name=pod.node, pool=step.pool, queued_seconds=step.queued,
                run_seconds=step.run, started_seconds=step.started or 0.0,
                finished_seconds=step.finished or 0.0, phase=step.phase,
                cpu_cores=cpu, memory_bytes=memory,
            )
        )  # fmt: skip
        if step.finished is not None:
            cpu_seconds += cpu * step.run
            memory_byte_seconds += memory * step.run
        if step.phase == "Unschedulable":
            report.unschedulable.append(
                pb.UnschedulableStep(
                    dry_run_id=pod.workflow, display_name=pod.display_name,
                    reason=pod.unschedulable,
                )
            )  # fmt: skip
    for series in timeline.pools:
        report.pools.append(
            pb.PoolUtilisation(
                pool=series.pool, times=series.times, cpu=series.cpu, memory=series.memory,
                mean_cpu=series.mean_cpu, peak_cpu=series.peak_cpu,
            )
        )  # fmt: skip
    report.energy_kwh = energy.energy_kwh(cpu_seconds, memory_byte_seconds)
    report.carbon_g_co2 = energy.carbon_g_co2(report.energy_kwh)
    return report


def rows(report: pb.SimulationReport) -> list[list[Any]]:
    return [[getattr(step, column) for column in COLUMNS] for step in report.steps]


def parquet_bytes(table_rows: Sequence[Sequence[Any]]) -> bytes:
    """The steps as Parquet (zstd); imports pyarrow, so: in the child."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*table_rows, strict=True)) if table_rows else [()] * len(COLUMNS)
    table = pa.table({name: list(values) for name, values in zip(COLUMNS, columns, strict=True)})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


async def write_parquet(table_rows: Sequence[Sequence[Any]]) -> bytes:
    """From a short-lived child process: pyarrow would hold tens of MiB of
    the scaler's memory for good, for a file written once per simulation."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
            written, errors = await child.communicate(json.dumps(table_rows).encode())
    except TimeoutError:
        raise ServiceError("writing a simulation report's Parquet file took too long") from None
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    if child.returncode != 0:
        reason = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise ServiceError(f"writing a simulation report's Parquet file failed: {reason[0]}")
    return written


class ReportStore:
    """`signer` only signs URLs, for the endpoint the URLs' readers reach."""

    def __init__(self, s3: S3Client, signer: S3Client, bucket: str, url_seconds: int) -> None:
        self._client = s3
        self._signer = signer
        self.bucket = bucket
        self.url_seconds = url_seconds

    @contextmanager
    def _s3(self, what: str) -> Iterator[S3Client]:
        with s3_errors(f"{what} in report bucket {self.bucket!r}"):
            yield self._client

    async def put(self, owner: str, report: pb.SimulationReport) -> None:
        """The Parquet file first: a report whose JSON exists is complete."""
        json_key, parquet_key = keys(owner, report.simulation_id)
        parquet = await write_parquet(rows(report))
        document = json_format.MessageToJson(report, indent=None).encode()
        with self._s3(f"simulation report {json_key!r}") as s3:
            await s3.put_object(
                Bucket=self.bucket, Key=parquet_key, Body=parquet,
                ContentType="application/vnd.apache.parquet",
            )  # fmt: skip
            await s3.put_object(
                Bucket=self.bucket, Key=json_key, Body=document, ContentType="application/json"
            )

    async def get(self, owner: str, simulation_id: str) -> pb.SimulationReport:
        """With presigned URLs; NotFoundError when there is none."""
        json_key, parquet_key = keys(owner, simulation_id)
        with self._s3(f"simulation report {json_key!r}") as s3:
            response = await s3.get_object(Bucket=self.bucket, Key=json_key)
            async with response["Body"] as body:
                report = json_format.Parse(await body.read(), pb.SimulationReport())
        for field, key in (("json_url", json_key), ("parquet_url", parquet_key)):
            setattr(
                report,
                field,
                await self._signer.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": key},
                    ExpiresIn=self.url_seconds,
                ),
            )
        return report

    async def delete(self, owner: str, simulation_id: str) -> None:
        with self._s3("simulation report") as s3:
            for key in keys(owner, simulation_id):
                await s3.delete_object(Bucket=self.bucket, Key=key)


def main() -> None:
    sys.stdout.buffer.write(parquet_bytes(json.loads(sys.stdin.buffer.read())))


if __name__ == "__main__":
    main()
