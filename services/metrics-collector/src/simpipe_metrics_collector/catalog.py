"""The metrics a step has: the original SIM-PIPE DryRunNodeMetrics names and
the cAdvisor series behind them (the original read the same values from
`simpipe_*` recording rules; cAdvisor's own names work on any cluster).

KWOK emulates cpu usage, memory usage and working set, network bytes and
filesystem bytes; on KWOK nodes the others are empty series, on a real
kubelet's cAdvisor they are filled.
"""

from dataclasses import dataclass

from simpipe_common.errors import InvalidInputError


@dataclass(frozen=True)
class Metric:
    name: str
    series: str
    # Network counters belong to the pod's network namespace: cAdvisor
    # reports them on whichever container holds it (`POD` on a real node,
    # every container on KWOK), so they are not filtered by container.
    pod_level: bool = False


def _counter(name: str, series: str, pod_level: bool = False) -> Metric:
    # Counters (cAdvisor's *_total) are raw here; summaries turn them into
    # rates and increases.
    return Metric(name, series, pod_level)


def _gauge(name: str, series: str) -> Metric:
    return Metric(name, series)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _counter("cpuSystemSecondsTotal", "container_cpu_system_seconds_total"),
        _counter("cpuUsageSecondsTotal", "container_cpu_usage_seconds_total"),
        _counter("cpuUserSecondsTotal", "container_cpu_user_seconds_total"),
        _gauge("fileDescriptors", "container_file_descriptors"),
        _gauge("fsInodesFree", "container_fs_inodes_free"),
        _gauge("fsInodesTotal", "container_fs_inodes_total"),
        _gauge("fsIoCurrent", "container_fs_io_current"),
        _counter("fsIoTimeSecondsTotal", "container_fs_io_time_seconds_total"),
        _counter("fsIoTimeWeightedSecondsTotal", "container_fs_io_time_weighted_seconds_total"),
        _gauge("fsLimitBytes", "container_fs_limit_bytes"),
        _counter("fsReadSecondsTotal", "container_fs_read_seconds_total"),
        _counter("fsReadsBytesTotal", "container_fs_reads_bytes_total"),
        _counter("fsReadsMergedTotal", "container_fs_reads_merged_total"),
        _counter("fsReadsTotal", "container_fs_reads_total"),
        _counter("fsSectorReadsTotal", "container_fs_sector_reads_total"),
        _counter("fsSectorWritesTotal", "container_fs_sector_writes_total"),
        _gauge("fsUsageBytes", "container_fs_usage_bytes"),
        _counter("fsWriteSecondsTotal", "container_fs_write_seconds_total"),
        _counter("fsWritesBytesTotal", "container_fs_writes_bytes_total"),
        _counter("fsWritesMergedTotal", "container_fs_writes_merged_total"),
        _counter("fsWritesTotal", "container_fs_writes_total"),
        _gauge("memoryCache", "container_memory_cache"),
        _gauge("memoryFailcnt", "container_memory_failcnt"),
        _counter("memoryFailuresTotal", "container_memory_failures_total"),
        _gauge("memoryMappedFile", "container_memory_mapped_file"),
        _gauge("memoryMaxUsageBytes", "container_memory_max_usage_bytes"),
        _gauge("memoryRss", "container_memory_rss"),
        _gauge("memorySwap", "container_memory_swap"),
        _gauge("memoryUsageBytes", "container_memory_usage_bytes"),
        _gauge("memoryWorkingSetBytes", "container_memory_working_set_bytes"),
        _counter("networkReceiveBytesTotal", "container_network_receive_bytes_total", True),
        _counter("networkReceiveErrorsTotal", "container_network_receive_errors_total", True),
        _counter(
            "networkReceivePacketsDroppedTotal",
            "container_network_receive_packets_dropped_total",
            True,
        ),
        _counter("networkReceivePacketsTotal", "container_network_receive_packets_total", True),
        _counter("networkTransmitBytesTotal", "container_network_transmit_bytes_total", True),
        _counter("networkTransmitErrorsTotal", "container_network_transmit_errors_total", True),
        _counter(
            "networkTransmitPacketsDroppedTotal",
            "container_network_transmit_packets_dropped_total",
            True,
        ),
        _counter("networkTransmitPacketsTotal", "container_network_transmit_packets_total", True),
        _gauge("processes", "container_processes"),
        _gauge("sockets", "container_sockets"),
        _gauge("threads", "container_threads"),
        _gauge("threadsMax", "container_threads_max"),
        _gauge("ulimitsSoft", "container_ulimits_soft"),
    )
}

CPU = METRICS["cpuUsageSecondsTotal"]
MEMORY = METRICS["memoryWorkingSetBytes"]
NETWORK_RECEIVE = METRICS["networkReceiveBytesTotal"]
NETWORK_TRANSMIT = METRICS["networkTransmitBytesTotal"]
FS_READ = METRICS["fsReadsBytesTotal"]
FS_WRITE = METRICS["fsWritesBytesTotal"]


def metrics_named(names: list[str]) -> list[Metric]:
    """The metrics of `names` in order, without repeats; all of them for none."""
    if not names:
        return list(METRICS.values())
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise InvalidInputError(
            f"unknown metric {unknown[0][:80]!r}: expected one of {', '.join(METRICS)}"
        )
    return [METRICS[n] for n in dict.fromkeys(names)]
