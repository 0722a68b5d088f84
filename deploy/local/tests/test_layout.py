from __future__ import annotations

from pathlib import Path

import pytest

from simpipe_devstack.layout import DEFAULT_PORTS, Layout, read_versions


def test_versions_file_pins_every_component() -> None:
    versions = read_versions()
    for key in (
        "KUBERNETES_VERSION",
        "ETCD_VERSION",
        "KWOK_VERSION",
        "ARGO_VERSION",
        "MINIO_VERSION",
        "SFTPGO_VERSION",
    ):
        assert versions[key].startswith("v"), key


def test_malformed_versions_line_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "versions.env"
    bad.write_text("# ok\nKWOK_VERSION v0.7.0\n")
    with pytest.raises(ValueError, match="malformed line"):
        read_versions(bad)


def test_port_override_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_PORT_MINIO", "19000")
    layout = Layout.from_env()
    assert layout.ports["minio"] == 19000
    assert layout.ports["nats"] == DEFAULT_PORTS["nats"]


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_bad_port_override_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SIMPIPE_PORT_NATS", value)
    with pytest.raises(ValueError, match="SIMPIPE_PORT_NATS"):
        Layout.from_env()


def test_cache_and_state_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SIMPIPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SIMPIPE_STATE", str(tmp_path / "state"))
    layout = Layout.from_env()
    assert layout.binaries["kwokctl"].is_relative_to(tmp_path / "cache")
    assert layout.kubeconfig.is_relative_to(tmp_path / "state")


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except OSError:
        return 32768, 60999  # Linux's default


def test_default_ports_avoid_the_ephemeral_range() -> None:
    # A fixed port inside it can be held by an outgoing connection's local
    # end when the service binds (CI once failed this way on 50052).
    low, high = ephemeral_range()
    inside = {name: port for name, port in DEFAULT_PORTS.items() if low <= port <= high}
    assert inside == {}


def test_default_ports_are_distinct() -> None:
    assert len(set(DEFAULT_PORTS.values())) == len(DEFAULT_PORTS)
