"""What the services export for their dashboards (deploy/kustomize/base/
dashboards), read from a running service's own /metrics: each gRPC call
counted and timed by method and outcome, and each durable event consumer's
backlog as JetStream reports it."""

from __future__ import annotations

import time

import httpx
import pytest

from simpipe.v1 import service_info_pb2, service_info_pb2_grpc
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.settings import ServiceSettings
from simpipe_events.stream import REPORTS


def sample(text: str, name: str, **labels: str) -> float | None:
    """A sample's value in Prometheus' text format, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if not series.startswith(f"{name}{{"):
            continue
        found = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
        if found == wanted:
            return float(value)
    return None


async def test_each_grpc_call_is_counted_and_timed_by_method(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> None:
    metrics = f"{endpoints['argo-watcher_http']}/metrics"
    method = "/simpipe.v1.ServiceInfo/GetInfo"
    labels = {"method": method, "outcome": "ok"}
    name = "simpipe_grpc_server_handling_seconds_count"
    async with httpx.AsyncClient(timeout=10) as http:
        before = sample((await http.get(metrics)).text, name, **labels) or 0.0
        async with mesh_channel(endpoints["argo-watcher_grpc"], mesh) as channel:
            stub = service_info_pb2_grpc.ServiceInfoStub(channel)
            for _ in range(3):
                await stub.GetInfo(service_info_pb2.GetInfoRequest(), timeout=30)
        after = sample((await http.get(metrics)).text, name, **labels)
    # Another caller (a health check, a second test) may add its own.
    assert after is not None
    assert after >= before + 3


@pytest.mark.timeout(60)
def test_the_collectors_event_consumer_reports_its_backlog(endpoints: dict[str, str]) -> None:
    metrics = f"{endpoints['metrics-collector_http']}/metrics"
    deadline = time.monotonic() + 30  # read from JetStream every 5 s
    while True:
        text = httpx.get(metrics, timeout=10).text
        pending = sample(text, "simpipe_events_consumer_pending", consumer=REPORTS.name)
        in_hand = sample(text, "simpipe_events_consumer_ack_pending", consumer=REPORTS.name)
        if pending is not None and in_hand is not None:
            break
        assert time.monotonic() < deadline, "no backlog of the reports consumer in 30 s"
        time.sleep(1)
    assert pending >= 0
    assert in_hand >= 0
