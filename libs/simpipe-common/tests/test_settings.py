import pytest

from simpipe_common.settings import GrpcServiceSettings, S3Settings, ServiceSettings


def test_defaults_listen_on_loopback_only() -> None:
    settings = ServiceSettings()
    assert settings.bind_host == "127.0.0.1"
    assert settings.nats_url == "nats://127.0.0.1:4222"


def test_reads_simpipe_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_GRPC_PORT", "6000")
    monkeypatch.setenv("SIMPIPE_LOG_LEVEL", "debug")
    monkeypatch.setenv("GRPC_PORT", "7000")
    settings = GrpcServiceSettings()
    assert settings.grpc_port == 6000
    assert settings.log_level == "debug"


def test_s3_credentials_have_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMPIPE_S3_ACCESS_KEY", raising=False)
    with pytest.raises(ValueError, match="s3_access_key"):
        S3Settings(_env_file=None)


@pytest.mark.parametrize("url", ["ws://nats:8080", "WSS://nats:443"])
def test_refuses_a_websocket_nats_url(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SIMPIPE_NATS_URL", url)
    with pytest.raises(ValueError, match="nats:// or tls://"):
        ServiceSettings()


def test_the_mesh_is_secure_unless_told_and_reflection_off() -> None:
    settings = GrpcServiceSettings()
    assert (settings.mesh_insecure, settings.grpc_reflection) == (False, False)
    assert settings.tls_ca_file is None
    assert settings.grpc_extra_callers == frozenset()


def test_extra_callers_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPIPE_GRPC_EXTRA_CALLERS", "tests, tools,")
    assert GrpcServiceSettings().grpc_extra_callers == frozenset({"tests", "tools"})
