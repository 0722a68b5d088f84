"""Where `simpipe` finds the gateway and the user's token: options, then the
environment (SIMPIPE_URL, SIMPIPE_TOKEN), then the config file `simpipe
login` writes in the usual per-user place (SIMPIPE_CONFIG names another)."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path

DEFAULT_URL = "http://127.0.0.1:8080/graphql"


class ConfigError(Exception):
    """The config file cannot be read or written."""


def config_path() -> Path:
    named = os.environ.get("SIMPIPE_CONFIG")
    return Path(named) if named else user_config_path("simpipe") / "config.toml"


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def _stored(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        found = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    return {k: v for k, v in found.items() if isinstance(v, str)}


def given_token(token: str | None) -> str | None:
    """The token given for this command: the option's, else SIMPIPE_TOKEN's."""
    return token or os.environ.get("SIMPIPE_TOKEN") or None


def settings(url: str | None, token: str | None) -> Settings:
    stored = _stored(config_path())
    return Settings(
        url=url or os.environ.get("SIMPIPE_URL") or stored.get("url") or DEFAULT_URL,
        token=given_token(token) or stored.get("token") or None,
    )


def save(url: str, token: str) -> Path:
    """Writes the config file, readable by its owner only (it holds a token)."""
    path = config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A JSON string is a TOML basic string for what URLs and tokens hold;
        # what it is not for (a lone surrogate) is refused, not written.
        text = f"url = {json.dumps(url)}\ntoken = {json.dumps(token)}\n"
        if tomllib.loads(text) != {"url": url, "token": token}:
            raise ConfigError(f"{path}: the URL or token cannot be written as TOML")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        path.chmod(0o600)
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from error
    return path


def forget() -> bool:
    """Removes the config file; whether there was one."""
    path = config_path()
    if not path.exists():
        return False
    path.unlink()
    return True
