"""SFTPGo: the uploads bucket over SFTP and WebDAV.

The SFTPGo user is the SFTP face of one SIM-PIPE user (SFTP_OWNER): through
SFTPGo's S3 backend on MinIO it sees that user's part of the bucket the
storage-broker puts uploads in (its owner prefix, as its root), so a file
put over SFTP is an artifact the GraphQL API lists to that user, and the
other way round; no other user's files are there. SFTPGo keeps its users in
memory: every start rebuilds them from secrets.json through its REST API,
so nothing it stores can drift from the stack's credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from simpipe_common.ownership import owner_hash
from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.components.minio import REGION, UPLOADS_BUCKET, Minio
from simpipe_devstack.processes import ProcessSpec, StackError
from simpipe_devstack.readiness import http_ok
from simpipe_devstack.secrets import LOCAL_USERS

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

# Whose uploads the SFTPGo user reaches: the local stack's first user.
SFTP_OWNER = LOCAL_USERS[0]


def server_config(ports: dict[str, int], templates: Path) -> dict[str, Any]:
    """SFTPGo's configuration file: what differs from its built-in defaults.

    Every listener on 127.0.0.1; FTP and telemetry stay off (port 0). Of
    the HTTP server only the REST API is on: nobody needs the web UIs here.
    `templates` is upstream's template directory, which build.sh puts beside
    the binary: SFTPGo loads its e-mail templates even without a mail server.
    """
    return {
        "smtp": {"templates_path": str(templates)},
        "sftpd": {"bindings": [{"address": "127.0.0.1", "port": ports["sftpgo_sftp"]}]},
        "webdavd": {"bindings": [{"address": "127.0.0.1", "port": ports["sftpgo_webdav"]}]},
        "ftpd": {"bindings": [{"port": 0}]},
        "telemetry": {"bind_port": 0},
        "httpd": {
            "bindings": [
                {
                    "address": "127.0.0.1",
                    "port": ports["sftpgo_api"],
                    "enable_web_admin": False,
                    "enable_web_client": False,
                    "enable_rest_api": True,
                    "render_openapi": False,
                }
            ]
        },
        # Users come from secrets.json at every start (see after_start);
        # the memory provider also needs no CGO build of SQLite.
        "data_provider": {"driver": "memory", "name": "", "create_default_admin": True},
    }


def user_document(
    *,
    username: str,
    password: str,
    home_dir: Path,
    s3_endpoint: str,
    s3_access_key: str,
    s3_secret_key: str,
    owner: str,
) -> dict[str, Any]:
    """The SFTPGo user whose root is `owner`'s part of the uploads bucket
    on MinIO: their prefix there, as the storage-broker splits it."""
    return {
        "username": username,
        "password": password,
        "status": 1,
        # Required by SFTPGo for every user; with the S3 backend it only
        # holds temporary files.
        "home_dir": str(home_dir),
        "permissions": {"/": ["*"]},
        "filesystem": {
            "provider": 1,  # S3
            "s3config": {
                "bucket": UPLOADS_BUCKET,
                "region": REGION,
                "endpoint": s3_endpoint,
                # MinIO on 127.0.0.1 has no per-bucket host names.
                "force_path_style": True,
                # Like a chroot: only keys below it are seen or written.
                "key_prefix": f"{owner_hash(owner)}/",
                "access_key": s3_access_key,
                "access_secret": {"status": "Plain", "payload": s3_secret_key},
            },
        },
    }


class Sftpgo(ProcessComponent):
    name = "sftpgo"
    port_keys = ("sftpgo_sftp", "sftpgo_webdav", "sftpgo_api")
    binaries = ("sftpgo",)

    def _config_file(self, stack: Stack) -> Path:
        return stack.layout.generated / "sftpgo" / "sftpgo.json"

    def _home(self, stack: Stack) -> Path:
        # SFTPGo's base directory: the SSH host keys it generates on the
        # first start stay here, so clients' known_hosts entries keep matching.
        return stack.layout.data / "sftpgo"

    def _api(self, stack: Stack) -> str:
        return f"http://127.0.0.1:{stack.layout.ports['sftpgo_api']}"

    def prepare(self, stack: Stack) -> None:
        config = self._config_file(stack)
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            json.dumps(
                server_config(
                    stack.layout.ports, stack.layout.binaries["sftpgo"].parent / "templates"
                ),
                indent=2,
            )
            + "\n"
        )
        self._home(stack).mkdir(parents=True, exist_ok=True)

    def spec(self, stack: Stack) -> ProcessSpec:
        creds = stack.secrets.sftpgo
        return ProcessSpec(
            self.name,
            [
                str(stack.layout.binaries["sftpgo"]),
                "serve",
                "--config-dir",
                str(self._home(stack)),
                "--config-file",
                str(self._config_file(stack)),
                # Empty: log to stdout, which the supervisor keeps in logs/.
                "--log-file-path=",
                "--log-level",
                "info",
            ],
            # The admin comes from the environment, not the file, so no
            # password is written outside secrets.json.
            env={
                "SFTPGO_DEFAULT_ADMIN_USERNAME": creds["admin_user"],
                "SFTPGO_DEFAULT_ADMIN_PASSWORD": creds["admin_password"],
            },
            cwd=self._home(stack),
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        return http_ok(f"{self._api(stack)}/healthz")

    def after_start(self, stack: Stack) -> None:
        # Minio.after_start created UPLOADS_BUCKET.
        s3_endpoint = Minio().url(stack)
        creds = stack.secrets.sftpgo
        user = user_document(
            username=creds["user"],
            password=creds["password"],
            home_dir=self._home(stack) / "users" / creds["user"],
            s3_endpoint=s3_endpoint,
            s3_access_key=stack.secrets.s3_access_key,
            s3_secret_key=stack.secrets.s3_secret_key,
            owner=SFTP_OWNER,
        )
        with httpx.Client(base_url=f"{self._api(stack)}/api/v2", timeout=10.0) as api:
            token = api.get("/token", auth=(creds["admin_user"], creds["admin_password"]))
            if token.status_code != 200:
                raise StackError(f"sftpgo: admin login refused: {token.status_code} {token.text}")
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            # The memory provider starts empty at every start.
            reply = api.post("/users", json=user, headers=headers)
            if reply.status_code != 201:
                raise StackError(
                    f"sftpgo: could not create user {creds['user']}: "
                    f"{reply.status_code} {reply.text}"
                )

    def endpoints(self, stack: Stack) -> dict[str, str]:
        ports = stack.layout.ports
        return {
            "sftp": f"sftp://127.0.0.1:{ports['sftpgo_sftp']}",
            "webdav": f"http://127.0.0.1:{ports['sftpgo_webdav']}",
            "sftpgo_api": f"{self._api(stack)}/api/v2",
        }
