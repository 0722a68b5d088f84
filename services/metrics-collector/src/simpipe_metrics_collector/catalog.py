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


# Counters (cAdvisor's *_total) are raw series here, like the gauges;
# summaries turn them into rates and increases.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("cpuSystemSecondsTotal", "container_cpu_system_seconds_total"),
        Metric("cpuUsageSecondsTotal", "container_cpu_usage_seconds_total"),
        Metric("cpuUserSecondsTotal", "container_cpu_user_seconds_total"),
        Metric("fileDescriptors", "container_file_descriptors"),
        Metric("fsInodesFree", "container_fs_inodes_free"),
        Metric("fsInodesTotal", "container_fs_inodes_total"),
        Metric("fsIoCurrent", "container_fs_io_current"),
        Metric("fsIoTimeSecondsTotal", "container_fs_io_time_seconds_total"),
        Metric("fsIoTimeWeightedSecondsTotal", "container_fs_io_time_weighted_seconds_total"),
        Metric("fsLimitBytes", "container_fs_limit_bytes"),
        Metric("fsReadSecondsTotal", "container_fs_read_seconds_total"),
        Metric("fsReadsBytesTotal", "container_fs_reads_bytes_total"),
        Metric("fsReadsMergedTotal", "container_fs_reads_merged_total"),
        Metric("fsReadsTotal", "container_fs_reads_total"),
        Metric("fsSectorReadsTotal", "container_fs_sector_reads_total"),
        Metric("fsSectorWritesTotal", "container_fs_sector_writes_total"),
        Metric("fsUsageBytes", "container_fs_usage_bytes"),
        Metric("fsWriteSecondsTotal", "container_fs_write_seconds_total"),
        Metric("fsWritesBytesTotal", "container_fs_writes_bytes_total"),
        Metric("fsWritesMergedTotal", "container_fs_writes_merged_total"),
        Metric("fsWritesTotal", "container_fs_writes_total"),
        Metric("memoryCache", "container_memory_cache"),
        Metric("memoryFailcnt", "container_memory_failcnt"),
        Metric("memoryFailuresTotal", "container_memory_failures_total"),
        Metric("memoryMappedFile", "container_memory_mapped_file"),
        Metric("memoryMaxUsageBytes", "container_memory_max_usage_bytes"),
        Metric("memoryRss", "container_memory_rss"),
        Metric("memorySwap", "container_memory_swap"),
        Metric("memoryUsageBytes", "container_memory_usage_bytes"),
        Metric("memoryWorkingSetBytes", "container_memory_working_set_bytes"),
        Metric("networkReceiveBytesTotal", "container_network_receive_bytes_total", True),
        Metric("networkReceiveErrorsTotal", "container_network_receive_errors_total", True),
        Metric(
            "networkReceivePacketsDroppedTotal",
            "container_network_receive_packets_dropped_total",
            True,
        ),
        Metric("networkReceivePacketsTotal", "container_network_receive_packets_total", True),
        Metric("networkTransmitBytesTotal", "container_network_transmit_bytes_total", True),
        Metric("networkTransmitErrorsTotal", "container_network_transmit_errors_total", True),
        Metric(
            "networkTransmitPacketsDroppedTotal",
            "container_network_transmit_packets_dropped_total",
            True,
        ),
        Metric("networkTransmitPacketsTotal", "container_network_transmit_packets_total", True),
        Metric("processes", "container_processes"),
        Metric("sockets", "container_sockets"),
        Metric("threads", "container_threads"),
        Metric("threadsMax", "container_threads_max"),
        Metric("ulimitsSoft", "container_ulimits_soft"),
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
