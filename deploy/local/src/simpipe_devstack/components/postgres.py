"""PostgreSQL: Argo's workflow archive."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from simpipe_devstack.components.base import ProcessComponent
from simpipe_devstack.processes import ProcessSpec, StackError

if TYPE_CHECKING:
    from simpipe_devstack.stack import Stack

ARCHIVE_DB = "argo"
ARCHIVE_USER = "argo"


def postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        raise StackError(
            "PostgreSQL is not installed: apt-get install -y postgresql (or run `make build`)"
        )
    return candidates[-1].parent


class Postgres(ProcessComponent):
    name = "postgres"
    port_keys = ("postgres",)

    # PostgreSQL refuses to run as root; under root it runs as 'postgres'.
    def run_as(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def data_dir(self, stack: Stack) -> Path:
        return stack.layout.data / "postgres"

    def socket_dir(self, stack: Stack) -> Path:
        return stack.layout.state / "run" / "postgres"

    def prepare(self, stack: Stack) -> None:
        data, sockets, user = self.data_dir(stack), self.socket_dir(stack), self.run_as()
        for d in (data, sockets):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if user:
                shutil.chown(d, user, user)
        if (data / "PG_VERSION").exists():
            return
        result = subprocess.run(
            [str(postgres_bin_dir() / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"],
            user=user, group=user, extra_groups=[] if user else None,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def spec(self, stack: Stack) -> ProcessSpec:
        return ProcessSpec(
            self.name,
            [
                str(postgres_bin_dir() / "postgres"),
                "-D", str(self.data_dir(stack)),
                "-p", str(stack.layout.ports["postgres"]),
                "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={self.socket_dir(stack)}",
            ],
            user=self.run_as(),
        )  # fmt: skip

    def _admin(self, stack: Stack) -> psycopg.Connection[tuple[object, ...]]:
        # Local trust on our private socket directory: the superuser needs no password.
        return psycopg.connect(
            host=str(self.socket_dir(stack)),
            port=stack.layout.ports["postgres"],
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=2,
        )

    def ready(self, stack: Stack) -> Callable[[], bool]:
        def check() -> bool:
            try:
                with self._admin(stack):
                    return True
            except psycopg.OperationalError:
                return False

        return check

    def after_start(self, stack: Stack) -> None:
        password = stack.secrets.postgres_password
        with self._admin(stack) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (ARCHIVE_USER,)
            ).fetchone():
                conn.execute(
                    psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        psycopg.sql.Identifier(ARCHIVE_USER), psycopg.sql.Literal(password)
                    )
                )
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (ARCHIVE_DB,)
            ).fetchone():
                conn.execute(
                    psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        psycopg.sql.Identifier(ARCHIVE_DB), psycopg.sql.Identifier(ARCHIVE_USER)
                    )
                )

    def endpoints(self, stack: Stack) -> dict[str, str]:
        return {
            "postgres": f"postgresql://{ARCHIVE_USER}@127.0.0.1:{stack.layout.ports['postgres']}/{ARCHIVE_DB}"
        }
