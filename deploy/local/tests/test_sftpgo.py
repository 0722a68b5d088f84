from __future__ import annotations

import json
from pathlib import Path

from simpipe_common.ownership import owner_hash
from simpipe_devstack.components.minio import UPLOADS_BUCKET
from simpipe_devstack.components.sftpgo import server_config, user_document
from simpipe_devstack.layout import DEFAULT_PORTS
from simpipe_devstack.secrets import Secrets


def test_every_listener_is_local_and_ftp_and_telemetry_are_off() -> None:
    config = server_config(DEFAULT_PORTS, Path("/cache/sftpgo/templates"))
    listeners = [
        (service, binding)
        for service in ("sftpd", "webdavd", "httpd")
        for binding in config[service]["bindings"]
    ]
    assert {(s, b["address"], b["port"]) for s, b in listeners} == {
        ("sftpd", "127.0.0.1", DEFAULT_PORTS["sftpgo_sftp"]),
        ("webdavd", "127.0.0.1", DEFAULT_PORTS["sftpgo_webdav"]),
        ("httpd", "127.0.0.1", DEFAULT_PORTS["sftpgo_api"]),
    }
    assert config["ftpd"]["bindings"] == [{"port": 0}]
    assert config["telemetry"]["bind_port"] == 0
    (api,) = config["httpd"]["bindings"]
    assert (api["enable_web_admin"], api["enable_web_client"]) == (False, False)
    assert config["smtp"]["templates_path"] == "/cache/sftpgo/templates"
    # A data provider that needs no CGO build of SQLite.
    assert config["data_provider"]["driver"] == "memory"


def test_config_holds_no_credentials() -> None:
    text = json.dumps(server_config(DEFAULT_PORTS, Path("/t")))
    assert "password" not in text.lower()


def test_user_sees_their_owners_part_of_the_uploads_bucket_on_minio_path_style() -> None:
    user = user_document(
        username="sftp-1",
        password="pw",
        home_dir=Path("/state/sftpgo/users/sftp-1"),
        s3_endpoint="http://127.0.0.1:9000",
        s3_access_key="ak",
        s3_secret_key="sk",
        owner="local-dev",
    )
    assert (user["username"], user["password"], user["status"]) == ("sftp-1", "pw", 1)
    assert user["filesystem"]["provider"] == 1
    assert user["filesystem"]["s3config"] == {
        "bucket": UPLOADS_BUCKET,
        "region": "us-east-1",
        "endpoint": "http://127.0.0.1:9000",
        "force_path_style": True,
        "key_prefix": f"{owner_hash('local-dev')}/",
        "access_key": "ak",
        "access_secret": {"status": "Plain", "payload": "sk"},
    }
    assert user["permissions"] == {"/": ["*"]}


def test_sftpgo_credentials_are_added_to_older_secrets_once(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    older = {"s3_access_key": "a", "s3_secret_key": "b", "postgres_password": "c"}
    path.write_text(json.dumps(older))
    first = Secrets.load_or_create(path)
    assert set(first.sftpgo) == {"admin_user", "admin_password", "user", "password"}
    assert first.s3_access_key == "a"
    assert Secrets.load_or_create(path).sftpgo == first.sftpgo
    assert Secrets.load_or_create(tmp_path / "other.json").sftpgo != first.sftpgo
