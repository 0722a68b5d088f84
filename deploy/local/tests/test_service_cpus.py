from __future__ import annotations

import pytest

from simpipe_devstack.components.services import SERVICE_NAMES, service_cpu


@pytest.mark.parametrize("cpus", [2, 3, 4, 5, 8])
def test_the_gateway_and_the_submitter_get_cpus_of_their_own(
    monkeypatch: pytest.MonkeyPatch, cpus: int
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cpus)))
    placed = {name: service_cpu(name) for name in SERVICE_NAMES}
    assert set(placed.values()) <= set(range(cpus))
    assert placed["gateway"] != placed["workflow-submitter"]


def test_on_one_cpu_no_service_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {3})
    assert [service_cpu(name) for name in SERVICE_NAMES] == [None] * len(SERVICE_NAMES)
